/*
 * SnowbotEvents tells snowbot that a record changed, so that snowbot can tell
 * the people concerned in Microsoft Teams. An event names the record and the
 * people (sys_user sys_ids) and nothing else: snowbot reads what each person
 * may see with that person's own ServiceNow account.
 *
 * Each event is signed with HMAC-SHA256 over "<unix seconds>.<body>" with the
 * secret in the system property snowbot.webhook_secret (the same value as the
 * bot's SERVICENOW_WEBHOOK_SECRET), and posted to snowbot.events_url.
 *
 * Called from snowbot's async business rules; `new SnowbotEvents().check()`
 * in Scripts - Background tells whether the secret and URL are right.
 */
var SnowbotEvents = Class.create();
SnowbotEvents.prototype = {
    initialize: function() {},

    /* An incident's event: its caller, assignee and watch list are told. */
    incident: function(current, event, changed) {
        var people = [current.getValue('caller_id'), current.getValue('assigned_to')]
            .concat(String(current.getValue('watch_list') || '').split(','));
        return this.send({
            table: 'incident',
            sys_id: current.getUniqueValue(),
            event: event,
            recipients: this._people(people),
            actor: gs.getUserID(),
            changed: changed || []
        });
    },

    /* A new approval request: the approver is told. */
    approval: function(current) {
        return this.send({
            table: 'sysapproval_approver',
            sys_id: current.getUniqueValue(),
            event: 'approval_requested',
            recipients: this._people([current.getValue('approver')]),
            actor: gs.getUserID()
        });
    },

    /* Signs and posts an event; returns the bot's HTTP status (202: taken). */
    send: function(event) {
        if (!event.recipients || event.recipients.length === 0)
            return 0;
        event.id = gs.generateGUID();
        if (!event.actor)
            delete event.actor;
        return this._post(JSON.stringify(event));
    },

    /*
     * Sends a signed body that is not an event: the bot answers 400 when the
     * signature is right (the secret matches) and 401 when it is not.
     */
    check: function() {
        var status = this._post('{}');
        if (status == 400)
            gs.info('snowbot: the URL and the secret are right');
        else if (status == 401)
            gs.warn('snowbot: the bot refused the signature: snowbot.webhook_secret differs from SERVICENOW_WEBHOOK_SECRET, or this instance\'s clock is off by more than 5 minutes');
        else
            gs.warn('snowbot: unexpected answer ' + status + ' from ' + gs.getProperty('snowbot.events_url'));
        return status;
    },

    _post: function(body) {
        var url = gs.getProperty('snowbot.events_url');
        var secret = gs.getProperty('snowbot.webhook_secret');
        if (!url || !secret) {
            gs.warn('snowbot: set the system properties snowbot.events_url and snowbot.webhook_secret');
            return 0;
        }
        var timestamp = String(Math.floor(new GlideDateTime().getNumericValue() / 1000));
        var mac = new GlideCertificateEncryption().generateMac(
            GlideStringUtil.base64Encode(secret), 'HmacSHA256', timestamp + '.' + body);
        var request = new sn_ws.RESTMessageV2();
        request.setEndpoint(url);
        request.setHttpMethod('post');
        request.setHttpTimeout(10000);
        request.setRequestHeader('Content-Type', 'application/json');
        request.setRequestHeader('X-Snowbot-Timestamp', timestamp);
        request.setRequestHeader('X-Snowbot-Signature', 'v1=' + this._hex(mac));
        request.setRequestBody(body);
        try {
            var response = request.execute();
            var status = response.getStatusCode();
            if (status != 202 && body != '{}')
                gs.warn('snowbot: the bot answered ' + status + ' to a change event: ' + response.getBody());
            return status;
        } catch (e) {
            gs.warn('snowbot: a change event was not sent: ' + e);
            return 0;
        }
    },

    /* The sys_user sys_ids among values, each once (a watch list may also hold e-mail addresses). */
    _people: function(values) {
        var out = [];
        for (var i = 0; i < values.length; i++) {
            var v = String(values[i] || '').trim();
            if (/^[0-9a-f]{32}$/.test(v) && out.indexOf(v) < 0)
                out.push(v);
        }
        return out;
    },

    /*
     * Base64 (what generateMac returns) to lowercase hex (what the bot
     * expects), written out: the platform documents no helper for it.
     */
    _hex: function(base64) {
        var alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
        var hex = '';
        var bits = 0;
        var value = 0;
        for (var i = 0; i < base64.length; i++) {
            var c = alphabet.indexOf(base64.charAt(i));
            if (c < 0)
                continue; // padding, line breaks
            value = (value << 6) | c;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                var b = (value >> bits) & 0xff;
                hex += (b < 16 ? '0' : '') + b.toString(16);
            }
        }
        return hex;
    },

    type: 'SnowbotEvents'
};
