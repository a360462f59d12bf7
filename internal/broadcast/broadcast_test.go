package broadcast

import "testing"

func TestHub(t *testing.T) {
	var h Hub[int]
	a, stopA := h.Subscribe(2)
	b, stopB := h.Subscribe(1)
	h.Publish(1)
	h.Publish(2) // b is full: it misses 2, a gets it
	if got := <-a; got != 1 {
		t.Fatalf("a got %d", got)
	}
	if got := <-a; got != 2 {
		t.Fatalf("a got %d", got)
	}
	if got := <-b; got != 1 {
		t.Fatalf("b got %d", got)
	}
	select {
	case v := <-b:
		t.Fatalf("b should have missed 2, got %d", v)
	default:
	}
	stopB()
	stopB() // twice is safe
	if _, ok := <-b; ok {
		t.Fatal("b not closed")
	}
	h.Publish(3) // no panic on a closed subscriber
	if got := <-a; got != 3 {
		t.Fatalf("a got %d", got)
	}
	stopA()
}
