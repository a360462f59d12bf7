package claudetest

import "sync"

// Exhausted is the text a Script answers with once its replies are used up.
const Exhausted = "claudetest: no scripted reply left"

// Script answers Messages calls with replies in order, one per call; once
// they are used up it answers with the text Exhausted.
func Script(replies ...Reply) Responder {
	var mu sync.Mutex
	i := 0
	return func(*Request) Reply {
		mu.Lock()
		defer mu.Unlock()
		if i >= len(replies) {
			return Text(Exhausted)
		}
		i++
		return replies[i-1]
	}
}
