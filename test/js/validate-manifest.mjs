// Validates a Teams app manifest against the official JSON schema that the
// @microsoft/app-manifest package bundles (offline), and reports the newest
// schema version the package carries.
//
// usage: node validate-manifest.mjs manifest.json
// prints JSON {"newest": "1.30", "version": "1.30", "errors": [...]}; exit 1 on errors.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import appManifest from "@microsoft/app-manifest";

const require = createRequire(import.meta.url);
const schemas = join(dirname(require.resolve("@microsoft/app-manifest")), "json-schemas", "teams");
const versions = readdirSync(schemas).filter((v) => /^v\d+\.\d+$/.test(v)).map((v) => v.slice(1));
versions.sort((a, b) => {
  const [a1, a2] = a.split(".").map(Number);
  const [b1, b2] = b.split(".").map(Number);
  return a1 - b1 || a2 - b2;
});
const newest = versions[versions.length - 1];

const manifest = JSON.parse(readFileSync(process.argv[2], "utf8"));
const schema = JSON.parse(readFileSync(join(schemas, "v" + manifest.manifestVersion, "MicrosoftTeams.schema.json"), "utf8"));
const errors = await appManifest.ManifestUtil.validateManifestAgainstSchema(manifest, schema);
console.log(JSON.stringify({ newest, version: manifest.manifestVersion, errors }));
process.exit(errors.length === 0 ? 0 : 1);
