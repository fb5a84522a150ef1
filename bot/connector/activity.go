package connector

import "github.com/infracloudio/msbotbuilder-go/schema"

// Activity is an activity the bot sends: the few fields of the Bot Framework
// schema that snowbot sets, encoded once and as they are. (msbotbuilder-go's
// schema.Activity holds times and nested structs by value, so encoding it
// writes an "expiration" in the year 1 and an empty object for every field
// left unset, which cost a decode and a second encode to prune.)
type Activity struct {
	Type         schema.ActivityTypes       `json:"type"`
	ID           string                     `json:"id,omitempty"`
	Text         string                     `json:"text,omitempty"`
	TextFormat   string                     `json:"textFormat,omitempty"`
	Attachments  []schema.Attachment        `json:"attachments,omitempty"`
	ChannelID    string                     `json:"channelId,omitempty"`
	ServiceURL   string                     `json:"serviceUrl"`
	Conversation schema.ConversationAccount `json:"conversation"`
	From         schema.ChannelAccount      `json:"from"`
	Recipient    schema.ChannelAccount      `json:"recipient"`
	ReplyToID    string                     `json:"replyToId,omitempty"`
}

// To addresses an activity to the conversation of ref, from the bot to the
// user, as a reply to ref's activity when it names one.
func (a Activity) To(ref schema.ConversationReference) Activity {
	a.ChannelID = ref.ChannelID
	a.ServiceURL = ref.ServiceURL
	a.Conversation = ref.Conversation
	a.From = ref.Bot
	a.Recipient = ref.User
	a.ReplyToID = ref.ActivityID
	return a
}
