package scripted

import "testing"

// TestRequestDecodesImageBlocks: an image block of a user message keeps
// its media type and base64 data, and LastUserWithPrompt finds the prompt
// once tool results follow it.
func TestRequestDecodesImageBlocks(t *testing.T) {
	r := Request{Body: []byte(`{"model":"m","messages":[
	 {"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]},
	 {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Read","input":{}}]},
	 {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"x"}]}]}`)}
	if err := r.decodeMessages(); err != nil {
		t.Fatal(err)
	}
	m := r.LastUserWithPrompt()
	ims := m.Images()
	if m.Prompt() != "look" || len(ims) != 1 || ims[0].MediaType != "image/png" || ims[0].Data != "iVBO" {
		t.Fatalf("prompt %q images %+v", m.Prompt(), ims)
	}
	if len(r.LastUser().Images()) != 0 {
		t.Fatal("the tool result message has no image")
	}
}
