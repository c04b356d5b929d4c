package jsonw

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\ncr\r\x01\x1f", "日本語", "bad\xffutf8", "</script>"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s) // for valid UTF-8 the decoded text must match
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: round trip %q, want %q", s, back, wantBack)
		}
	}
	if got := string(AppendHex64(nil, 0xa0dc23f22c4fee3f)); got != "a0dc23f22c4fee3f" {
		t.Errorf("AppendHex64 = %s", got)
	}
	if got := string(AppendHex64(nil, 1)); got != "0000000000000001" {
		t.Errorf("AppendHex64(1) = %s", got)
	}
}
