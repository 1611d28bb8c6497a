package discordtest

import (
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestThreadOnPost(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	addAnnouncement(s, annID)
	forum := addForum(s)
	start := func(ch, msg string) (*discordgo.Channel, error) {
		return dg.MessageThreadStartComplex(ch, msg, &discordgo.ThreadStart{Name: "Discuss: Go 1.26", AutoArchiveDuration: 1440})
	}
	text, err := dg.ChannelMessageSendComplex(NewsChannelID, post())
	if err != nil {
		t.Fatal(err)
	}
	th, err := start(NewsChannelID, text.ID)
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != text.ID || th.Type != discordgo.ChannelTypeGuildPublicThread || th.ParentID != NewsChannelID ||
		th.OwnerID != BotUserID || th.Name != "Discuss: Go 1.26" || th.ThreadMetadata.AutoArchiveDuration != 1440 {
		t.Fatalf("thread = %+v", th)
	}
	ann, err := dg.ChannelMessageSendComplex(annID, post())
	if err != nil {
		t.Fatal(err)
	}
	ath, err := start(annID, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ath.ID != ann.ID || ath.Type != discordgo.ChannelTypeGuildNewsThread || ath.ParentID != annID {
		t.Fatalf("announcement thread = %+v", ath)
	}
	// Once per message; unknown messages; not on forum posts.
	_, err = start(annID, ann.ID)
	wantCode(t, err, 400, 160004)
	_, err = start(NewsChannelID, "123")
	wantCode(t, err, 404, 10008)
	fp, err := dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: "p", AppliedTags: []string{"479"}}, forumEmbed())
	if err != nil {
		t.Fatal(err)
	}
	_, err = start(fp.ID, fp.ID)
	wantCode(t, err, 400, 50024)

	if got, ok := s.MessageThread(annID, ann.ID); !ok || got.Type != discordgo.ChannelTypeGuildNewsThread {
		t.Fatalf("MessageThread = %+v %v", got, ok)
	}
	if _, ok := s.MessageThread(annID, "123"); ok {
		t.Fatal("MessageThread of a message without a thread")
	}
	if ths := s.Threads(annID); len(ths) != 1 || ths[0].ID != ann.ID {
		t.Fatalf("Threads = %+v", ths)
	}
	if m, _ := dg.ChannelMessage(annID, ann.ID); m.Thread == nil || m.Thread.ID != ann.ID || m.Flags&discordgo.MessageFlagsHasThread == 0 {
		t.Fatalf("message = %+v", m)
	}
}

func TestActiveAndArchivedThreads(t *testing.T) {
	s := New(t, WithClock(fixedClock()))
	dg, _ := session(t, s, false, false)
	forum := addForum(s)
	var posts []*discordgo.Channel
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		th, err := dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: name, AppliedTags: []string{"479"}}, forumEmbed())
		if err != nil {
			t.Fatal(err)
		}
		posts = append(posts, th)
		s.Advance(time.Minute)
	}
	m, err := dg.ChannelMessageSend(NewsChannelID, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.MessageThreadStart(NewsChannelID, m.ID, "on text", 60); err != nil {
		t.Fatal(err)
	}
	// Archive b, then d, then a (a is the newest archive).
	var archivedAt []time.Time
	for _, i := range []int{1, 3, 0} {
		if err := s.ArchiveThread(posts[i].ID); err != nil {
			t.Fatal(err)
		}
		archivedAt = append(archivedAt, s.Now())
		s.Advance(time.Minute)
	}

	act, err := dg.GuildThreadsActive(GuildID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, th := range act.Threads {
		names = append(names, th.Name)
		if th.ParentID == "" || th.OwnerID != BotUserID || th.GuildID != GuildID {
			t.Errorf("active thread %+v", th)
		}
	}
	if len(names) != 3 || names[0] != "c" || names[1] != "e" || names[2] != "on text" || len(act.Members) != 3 {
		t.Fatalf("active = %v, %d members", names, len(act.Members))
	}
	if ch, err := dg.ThreadsActive(forum); err != nil || len(ch.Threads) != 2 || ch.HasMore {
		t.Fatalf("forum's active = %+v %v", ch, err)
	}

	// Archived, newest archive first, paged with before and limit.
	page, err := dg.ThreadsArchived(forum, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Threads) != 2 || page.Threads[0].Name != "a" || page.Threads[1].Name != "d" || !page.HasMore {
		t.Fatalf("page 1 = %+v", page)
	}
	if !page.Threads[0].ThreadMetadata.Archived || !page.Threads[0].ThreadMetadata.ArchiveTimestamp.Equal(archivedAt[2]) {
		t.Fatalf("metadata = %+v", page.Threads[0].ThreadMetadata)
	}
	before := page.Threads[1].ThreadMetadata.ArchiveTimestamp
	page, err = dg.ThreadsArchived(forum, &before, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Threads) != 1 || page.Threads[0].Name != "b" || page.HasMore {
		t.Fatalf("page 2 = %+v", page)
	}
	if page, err := dg.ThreadsArchived(NewsChannelID, nil, 0); err != nil || len(page.Threads) != 0 {
		t.Fatalf("text channel archived = %+v %v", page, err)
	}
	// limit 2..100; Read Message History.
	_, err = dg.ThreadsArchived(forum, nil, 1)
	wantCode(t, err, 400, 50035)
	_, err = dg.ThreadsArchived(forum, nil, 101)
	wantCode(t, err, 400, 50035)
	s.SetOverwrites(forum, &discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionReadMessageHistory})
	_, err = dg.ThreadsArchived(forum, nil, 0)
	wantCode(t, err, 403, 50013)
	if n := len(s.ActiveThreads(GuildID)); n != 3 {
		t.Fatalf("ActiveThreads = %d", n)
	}
	if err := s.ArchiveThread(NewsChannelID); err == nil {
		t.Fatal("archived a channel that is not a thread")
	}
}

func TestArchiveThreadDispatchesThreadUpdate(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _, guilds := sessionG(t, s, true, false)
	updates := make(chan *discordgo.ThreadUpdate, 4)
	dg.AddHandler(func(_ *discordgo.Session, u *discordgo.ThreadUpdate) { updates <- u })
	recv(t, ctx, guilds)
	m, err := dg.ChannelMessageSend(NewsChannelID, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.MessageThreadStart(NewsChannelID, m.ID, "t", 60); err != nil {
		t.Fatal(err)
	}
	if err := s.ArchiveThread(m.ID); err != nil {
		t.Fatal(err)
	}
	u := recv(t, ctx, updates)
	if u.ID != m.ID || u.ThreadMetadata == nil || !u.ThreadMetadata.Archived {
		t.Fatalf("THREAD_UPDATE = %+v", u.Channel)
	}
}

func TestMaxActiveThreads(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	forum := addForum(s)
	s.SetMaxActiveThreads(1)
	m1, err := dg.ChannelMessageSend(NewsChannelID, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.MessageThreadStart(NewsChannelID, m1.ID, "first", 60); err != nil {
		t.Fatal(err)
	}
	m2, err := dg.ChannelMessageSend(NewsChannelID, "two")
	if err != nil {
		t.Fatal(err)
	}
	_, err = dg.MessageThreadStart(NewsChannelID, m2.ID, "second", 60)
	wantCode(t, err, 400, 160006)
	_, err = dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: "p", AppliedTags: []string{"479"}}, forumEmbed())
	wantCode(t, err, 400, 160006)
	// An archived thread makes room.
	if err := s.ArchiveThread(m1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dg.MessageThreadStart(NewsChannelID, m2.ID, "second", 60); err != nil {
		t.Fatal(err)
	}
}
