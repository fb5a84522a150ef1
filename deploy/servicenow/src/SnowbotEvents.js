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
 * Called from snowbot's business rules, one per table (after the save for
 * tasks, where changes() still works; async for approvals); `new
 * SnowbotEvents().check()` in Scripts - Background tells whether the secret
 * and URL are right.
 */
var SnowbotEvents = Class.create();
SnowbotEvents.prototype = {
    initialize: function() {},

    /*
     * A record's save, as one event: created, or the fields snowbot follows
     * that changed (state, priority, assigned_to, comments). An incident's
     * caller, assignee and watch list are told; another task's assignee and
     * watch list. Watchers and channel subscriptions in Teams hear of every
     * event, also one that names nobody.
     */
    record: function(current) {
        var table = current.getTableName();
        var changed = [];
        var fields = ['state', 'priority', 'assigned_to', 'comments'];
        for (var i = 0; i < fields.length; i++) {
            if (current[fields[i]].changes())
                changed.push(fields[i]);
        }
        var event = 'updated';
        if (current.operation() == 'insert') {
            event = 'created';
            changed = [];
        } else if (changed.length == 1 && changed[0] == 'comments') {
            event = 'commented';
        }
        var people = [current.getValue('assigned_to')]
            .concat(String(current.getValue('watch_list') || '').split(','));
        if (table == 'incident')
            people.push(current.getValue('caller_id'));
        return this.send({
            table: table,
            sys_id: current.getUniqueValue(),
            event: event,
            recipients: this._people(people),
            actor: gs.getUserID(),
            changed: changed
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

    /*
     * Signs and posts an event without waiting for the answer: the request
     * goes out through the ECC queue (executeAsync), so a bot that is down
     * or slow never holds this rule's scheduler worker.
     */
    send: function(event) {
        if (event.table == 'sysapproval_approver' && event.recipients.length === 0)
            return false;
        event.id = gs.generateGUID();
        if (!event.actor)
            delete event.actor;
        var request = this._request(JSON.stringify(event));
        if (!request)
            return false;
        try {
            request.executeAsync();
            return true;
        } catch (e) {
            gs.warn('snowbot: a change event was not sent: ' + e);
            return false;
        }
    },

    /*
     * Sends a signed body that is not an event, and waits for the answer
     * (run it in Scripts - Background): the bot answers 400 when the
     * signature is right (the secret matches) and 401 when it is not.
     */
    check: function() {
        var request = this._request('{}');
        if (!request)
            return 0;
        var status = 0;
        try {
            status = request.execute().getStatusCode();
        } catch (e) {
            gs.warn('snowbot: ' + gs.getProperty('snowbot.events_url') + ' could not be reached: ' + e);
            return 0;
        }
        if (status == 400)
            gs.info('snowbot: the URL and the secret are right');
        else if (status == 401)
            gs.warn('snowbot: the bot refused the signature: snowbot.webhook_secret differs from SERVICENOW_WEBHOOK_SECRET, or this instance\'s clock is off by more than 5 minutes');
        else
            gs.warn('snowbot: unexpected answer ' + status + ' from ' + gs.getProperty('snowbot.events_url'));
        return status;
    },

    /* A signed request for body, or null when the properties are not set. */
    _request: function(body) {
        var url = gs.getProperty('snowbot.events_url');
        var secret = gs.getProperty('snowbot.webhook_secret');
        if (!url || !secret) {
            gs.warn('snowbot: set the system properties snowbot.events_url and snowbot.webhook_secret');
            return null;
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
        return request;
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
