// Replays spec/fixtures/manifest.json against the ARCP schema with ajv, an independent
// validator: draft 2020-12, strict mode, formats asserted (ajv-formats, full date-time).
// The schema's own keywords (`x-*`, `discriminator`) are declared as annotations, so strict
// mode loads the schema without ignoring anything silently. Prints a JSON report; exit 1 on
// any disagreement with the manifest.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const specDir = process.argv[2] ?? join(here, "..", "..", "..", "spec");
const fixturesDir = join(specDir, "fixtures");
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

function annotationKeywords(node, found = new Set()) {
  if (Array.isArray(node)) node.forEach((v) => annotationKeywords(v, found));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith("x-")) found.add(key);
      annotationKeywords(value, found);
    }
  }
  return found;
}

function newAjv(keywords) {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: false });
  addFormats(ajv, { mode: "full" });
  for (const keyword of keywords) ajv.addKeyword({ keyword, schemaType: ["object", "array", "string", "boolean", "number"] });
  return ajv;
}

const schemaName = readdirSync(specDir).find((name) => /^arcp-[0-9.]+\.schema\.json$/.test(name));
const schema = readJson(join(specDir, schemaName));
const keywords = [...annotationKeywords(schema), "discriminator"];
const ajv = newAjv(keywords);
const root = ajv.compile(schema);
// The same schema without the root's `not`: what this SDK reads (receive-only included).
const { not: _senderRule, $id, ...lenientRoot } = schema;
const lenient = newAjv(keywords).compile({ ...lenientRoot, $id: `${$id}:lenient` });

const manifestSchema = readJson(join(fixturesDir, "manifest.schema.json"));
const manifest = readJson(join(fixturesDir, "manifest.json"));
const manifestAjv = new Ajv2020({ strict: true });
const manifestOk = manifestAjv.validate(manifestSchema, manifest);

const disagreements = [];
if (!manifestOk) disagreements.push({ id: "manifest.json", errors: manifestAjv.errors });

function frameOf(entry) {
  const doc = readJson(join(fixturesDir, entry.file));
  if (entry.file.startsWith("forward/")) return { json: true, value: doc.frame };
  if (!entry.file.startsWith("invalid/")) return { json: true, value: doc };
  if ("raw_frame" in doc) {
    try {
      return { json: true, value: JSON.parse(doc.raw_frame) };
    } catch {
      return { json: false };
    }
  }
  return { json: true, value: doc.frame };
}

// What the schema itself says of each verdict: an accept-forward frame (a later minor's kind
// or code) is refused by the root and by the root without its `not`, as a reject is.
const schemaVerdict = { "accept-forward": "reject" };

for (const entry of manifest.fixtures) {
  const verdict = schemaVerdict[entry.outcome.verdict] ?? entry.outcome.verdict;
  const frame = frameOf(entry);
  let got;
  if (!frame.json) got = "reject";
  else if (root(frame.value)) got = "accept";
  else if (lenient(frame.value)) got = "receive-only";
  else got = "reject";
  if (got !== verdict) {
    disagreements.push({ id: entry.id, manifest: verdict, ajv: got, errors: root.errors ?? null });
  }
}

console.log(JSON.stringify({ validator: "ajv", checked: manifest.fixtures.length, keywords, disagreements }, null, 2));
process.exit(disagreements.length ? 1 : 0);
