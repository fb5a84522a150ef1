// Renders the text of every TextBlock and Fact of Adaptive Cards as Markdown,
// the way a host does (markdown-it, with bare URLs turned into links), and
// reports every link, image and emphasis the Markdown produced.
//
// usage: node markdown-links.mjs card1.json [card2.json …]
// prints JSON [{file, links: [href…], images: [src…], emphasis: [text…]}]
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ linkify: true });

function texts(node, out) {
  if (Array.isArray(node)) {
    node.forEach((n) => texts(n, out));
  } else if (node && typeof node === "object") {
    if (node.type === "TextBlock" && typeof node.text === "string") out.push(node.text);
    if (node.type === "FactSet" && Array.isArray(node.facts)) {
      node.facts.forEach((f) => out.push(String(f.title ?? ""), String(f.value ?? "")));
    }
    Object.values(node).forEach((v) => texts(v, out));
  }
  return out;
}

const results = [];
for (const file of process.argv.slice(2)) {
  const card = JSON.parse(readFileSync(file, "utf8"));
  const links = [], images = [], emphasis = [];
  for (const text of texts(card, [])) {
    const walk = (tokens) => {
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i];
        if (t.type === "link_open") links.push(t.attrGet("href"));
        if (t.type === "image") images.push(t.attrGet("src"));
        if (t.type === "strong_open" || t.type === "em_open" || t.type === "s_open") {
          emphasis.push(tokens.slice(i + 1).find((x) => x.type === "text")?.content ?? "");
        }
        if (t.children) walk(t.children);
      }
    };
    walk(md.parse(text, {}));
  }
  results.push({ file: basename(file), links, images, emphasis });
}
console.log(JSON.stringify(results, null, 1));
