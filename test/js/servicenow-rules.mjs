// Runs the business rules and script include of snowbot's ServiceNow update
// set (deploy/servicenow/snowbot-update-set.xml), exactly as shipped, against
// small stand-ins for ServiceNow's server API (gs, GlideRecord, GlideDateTime,
// GlideStringUtil, GlideCertificateEncryption, sn_ws.RESTMessageV2), and
// prints the HTTP requests they would send, for a test to send to the bot.
//
// usage: node servicenow-rules.mjs UPDATE_SET_XML < fixture.json
// fixture: {"properties": {...}, "user": "<sys_id of who acts>",
//           "records": {"<table>": {"<sys_id>": {field: value}}},
//           "scenarios": [{"name", "table", "operation": "insert"|"update",
//                          "record": {field: value}, "changed": [field]} | {"name", "check": true}]}
// prints: [{"scenario", "rule", "endpoint", "method", "headers", "body"}]
import { readFileSync } from "node:fs";
import { createHmac, randomBytes } from "node:crypto";
import vm from "node:vm";

const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");

// The records of the update set: {table, fields}.
function records(xml) {
  const out = [];
  for (const [, payload] of xml.matchAll(/<payload>([\s\S]*?)<\/payload>/g)) {
    const inner = unescape(payload);
    const table = inner.match(/<record_update table="([^"]+)">/)[1];
    const body = inner.match(new RegExp(`<${table} action="[^"]*">([\\s\\S]*)</${table}>`))[1];
    const fields = {};
    for (const [, name, value] of body.matchAll(/<(\w+)(?: [^>]*)?>([\s\S]*?)<\/\1>/g)) fields[name] = unescape(value);
    out.push({ table, fields });
  }
  return out;
}

const fixture = JSON.parse(readFileSync(0, "utf8"));
const shipped = records(readFileSync(process.argv[2], "utf8"));
const sent = [];
const log = [];
let scenario = "";
let rule = "";

// A GlideRecord stand-in over fields; changed lists what changed in this
// transaction. An async rule's script gets the record as loaded again when
// its job runs: changes(), changesTo() and changesFrom() do not work there
// (ServiceNow's documentation of async business rules; only the condition
// sees them), so they answer false, as a script on an instance would learn.
function glideRecord(table, fields, changed = [], operation = "update") {
  const r = {
    getTableName: () => table,
    operation: () => operation,
    getUniqueValue: () => fields.sys_id,
    getValue: (f) => (fields[f] === undefined || fields[f] === "" ? null : String(fields[f])),
    get(id) {
      const found = (fixture.records[table] || {})[id];
      if (!found) return false;
      fields = { ...found, sys_id: id };
      return true;
    },
  };
  return new Proxy(r, {
    get(target, prop) {
      if (prop in target || typeof prop !== "string") return target[prop];
      const value = fields[prop] === undefined ? "" : String(fields[prop]);
      return {
        toString: () => value,
        valueOf: () => value,
        changes: () => changed.includes(prop),
        changesTo: (v) => changed.includes(prop) && value === String(v),
        changesFrom: () => changed.includes(prop),
        nil: () => value === "",
      };
    },
  });
}

const context = {
  gs: {
    getProperty: (name, dflt) => fixture.properties[name] ?? dflt ?? null,
    getUserID: () => fixture.user,
    generateGUID: () => randomBytes(16).toString("hex"),
    info: (m) => log.push(m),
    warn: (m) => log.push(m),
  },
  Class: { create: () => function () { this.initialize.apply(this, arguments); } },
  GlideRecord: function (table) { return glideRecord(table, {}); },
  GlideDateTime: function () { this.getNumericValue = () => Date.now(); },
  GlideStringUtil: { base64Encode: (s) => Buffer.from(String(s), "utf8").toString("base64") },
  GlideCertificateEncryption: function () {
    this.generateMac = (key, algorithm, data) => {
      if (algorithm !== "HmacSHA256") throw new Error("unknown algorithm " + algorithm);
      return createHmac("sha256", Buffer.from(key, "base64")).update(String(data), "utf8").digest("base64");
    };
  },
  sn_ws: {
    RESTMessageV2: function () {
      const req = { headers: {} };
      this.setEndpoint = (u) => { req.endpoint = u; };
      this.setHttpMethod = (m) => { req.method = String(m).toUpperCase(); };
      this.setHttpTimeout = (ms) => { req.timeoutMs = ms; };
      this.setRequestHeader = (k, v) => { req.headers[k] = String(v); };
      this.setRequestBody = (b) => { req.body = String(b); };
      this.execute = () => {
        sent.push({ scenario, rule, ...req });
        return { getStatusCode: () => 202, getBody: () => "" };
      };
      // Through the ECC queue: the caller does not wait, and learns nothing of the answer.
      this.executeAsync = () => {
        sent.push({ scenario, rule, async: true, ...req });
        return { getStatusCode: () => { throw new Error("an async request's answer was waited for"); } };
      };
    },
  },
};
vm.createContext(context);
for (const r of shipped.filter((r) => r.table === "sys_script_include")) vm.runInContext(r.fields.script, context, { filename: r.fields.name });

const rules = shipped.filter((r) => r.table === "sys_script" && r.fields.active === "true");
for (const s of fixture.scenarios) {
  scenario = s.name;
  if (s.check) {
    rule = "check";
    vm.runInContext("new SnowbotEvents().check()", context);
    continue;
  }
  for (const r of rules) {
    const f = r.fields;
    if (f.collection !== s.table || !["after", "async"].includes(f.when) || f[`action_${s.operation}`] !== "true") continue;
    // On insert every field that has a value counts as changed, as in ServiceNow.
    const changed = s.operation === "insert" ? Object.keys(s.record) : s.changed || [];
    context.current = glideRecord(s.table, { ...s.record }, changed, s.operation);
    context.previous = f.when === "async" ? null : glideRecord(s.table, { ...s.record }); // async rules have no previous
    if (f.condition && !vm.runInContext(f.condition, context)) continue;
    if (f.when === "async") context.current = glideRecord(s.table, { ...s.record }, [], s.operation);
    rule = f.name;
    vm.runInContext(f.script, context, { filename: f.name });
  }
}
console.log(JSON.stringify({ sent, log }));
