package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMessage(t *testing.T) {
	raw := "From: someone@example.edu\nSubject: Re: RE: Candida (yeast) bloom\nLines: 9\n\n" +
		"In article <1r9j33$4g8@example.edu>, rind@example.edu (D. R.) writes:\n" +
		"> Do you believe that any quacks exist?\n>> older quote\n\n" +
		"I don't like the term applied to a licensed physician.\n  Questionable conduct   is unethical.\n\n" +
		"Second paragraph caf\xe9.\n--\nSteve, signature line\n"
	title, paras := parse([]byte(raw))
	if title != "Candida (yeast) bloom" {
		t.Errorf("title %q", title)
	}
	want := []string{
		"I don't like the term applied to a licensed physician. Questionable conduct is unethical.",
		"Second paragraph café.",
	}
	if !reflect.DeepEqual(paras, want) {
		t.Errorf("paragraphs\n got %q\nwant %q", paras, want)
	}
}

func TestRunWritesFeedsAndLabels(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	for _, g := range []string{"sci.med", "rec.autos"} {
		if err := os.MkdirAll(filepath.Join(src, g), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"1", "2"} {
			msg := "Subject: " + g + " story " + f + "\n\nText of " + g + " & story <" + f + ">.\n"
			if err := os.WriteFile(filepath.Join(src, g, f), []byte(msg), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A message without text of its own is skipped.
	if err := os.WriteFile(filepath.Join(src, "sci.med", "3"), []byte("Subject: Re: quoted\n\n> only a quote\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(src, out, "", 0); err != nil {
		t.Fatal(err)
	}
	labels, err := os.ReadFile(filepath.Join(out, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(labels)), "\n")
	if len(lines) != 4 {
		t.Fatalf("labels.tsv has %d lines, want 4:\n%s", len(lines), labels)
	}
	feed, err := os.ReadFile(filepath.Join(out, "feed-01.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		u, topic, _ := strings.Cut(l, "\t")
		if !strings.HasPrefix(u, Site+"/story/") || strings.Contains(u, topic) {
			t.Errorf("URL %q (topic %q): not a made-up story URL", u, topic)
		}
		if !strings.Contains(string(feed), "<link>"+u+"</link>") {
			t.Errorf("feed lacks %s", u)
		}
	}
	for _, w := range []string{"&amp;lt;1&amp;gt;", "<title>sci.med story 1</title>"} {
		if !strings.Contains(string(feed), w) {
			t.Errorf("feed lacks %q", w)
		}
	}
	if strings.Contains(string(feed), "<category") {
		t.Error("feed has categories: text alone is wanted")
	}
	if err := run("", out, "", 0); err == nil {
		t.Error("no -src: no error")
	}
}

func TestSkewKeepsTheDominantTopic(t *testing.T) {
	var stories []story
	for _, g := range []string{"big", "small1", "small2"} {
		for i := range 5 {
			stories = append(stories, story{key: g + "/" + string(rune('a'+i)), topic: g})
		}
	}
	kept, err := skew(stories, "big", 2)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range kept {
		count[s.topic]++
	}
	if want := map[string]int{"big": 5, "small1": 2, "small2": 2}; !reflect.DeepEqual(count, want) {
		t.Errorf("kept %v, want %v", count, want)
	}
	if kept[0].key != "big/a" || kept[5].key != "small1/a" {
		t.Errorf("order not kept: %v", kept)
	}
	if _, err := skew(stories, "nope", 2); err == nil {
		t.Error("unknown dominant group: no error")
	}
}
