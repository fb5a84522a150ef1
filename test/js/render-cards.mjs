// Renders Adaptive Cards with Microsoft's official renderer (the adaptivecards
// package, in a jsdom document), targeting schema 1.5, and reports every parse
// event and validation failure.
//
// usage: node render-cards.mjs card1.json [card2.json …]
// prints JSON [{file, ok, problems: [...], text}]; exit 1 when any card has a problem.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { url: "http://localhost/" });
globalThis.window = dom.window;
for (const name of Object.getOwnPropertyNames(dom.window)) {
  if (name in globalThis) continue;
  try {
    globalThis[name] = dom.window[name];
  } catch {
    // some window properties cannot be read outside a browsing context; the renderer needs none of them
  }
}
// The library prints diagnostics with console.log; keep stdout for the results.
const print = console.log;
console.log = console.warn = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
// The package's ES modules omit file extensions, which Node refuses; its UMD build loads as is.
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js");

// jsdom has no innerText, which the renderer uses for plain text; hand it the
// text as (escaped) HTML instead, as a host's markdown processor would.
AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
  result.outputHtml = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  result.didProcess = true;
};

const results = [];
for (const file of process.argv.slice(2)) {
  const json = JSON.parse(readFileSync(file, "utf8"));
  const problems = [];
  if (json.version !== "1.5") problems.push(`card version is ${json.version}, want 1.5`);
  const context = new AC.SerializationContext(new AC.Version(1, 5));
  const card = new AC.AdaptiveCard();
  card.parse(json, context);
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`parse: ${AC.ValidationEvent[e.event] ?? e.event}: ${e.message}`);
  }
  const validation = card.validateProperties();
  for (const e of validation.validationEvents) {
    problems.push(`validation: ${AC.ValidationEvent[e.event] ?? e.event}: ${e.message}`);
  }
  if (JSON.stringify(json).includes('"choices.data"')) {
    // Teams' dynamic typeahead (a filtered choice set filled by the bot) is
    // documented for Teams at any card version, with no static choices; the
    // library knows it only from 1.6 and wants choices. Those two findings
    // are expected, any other is not.
    const expected = [/Property "choices\.data" is supported in version 1\.6/, /CollectionCantBeEmpty: An Input\.ChoiceSet must have at least one choice/];
    for (let i = problems.length - 1; i >= 0; i--) {
      if (expected.some((re) => re.test(problems[i]))) problems.splice(i, 1);
    }
  }
  const element = card.render();
  if (!element) problems.push("render returned nothing");
  const text = element ? element.textContent.replace(/\s+/g, " ").trim().slice(0, 300) : "";
  results.push({ file: basename(file), ok: problems.length === 0, problems, text });
}
print(JSON.stringify(results, null, 1));
process.exit(results.every((r) => r.ok) ? 0 : 1);
