// Replays spec/fixtures/manifest.json against the ARCP schema with ajv, an independent
// validator: draft 2020-12 in its default strict mode (no relaxation), `discriminator: true`,
// formats asserted (ajv-formats, full date-time). The schema's own keywords are declared from
// the published meta-schema (spec/arcp-<version>.meta-schema.json): each of its `properties`
// ajv does not already implement becomes a keyword whose values that property validates, and
// the schema itself is checked against the meta-schema. Prints a JSON report; exit 1 on any
// disagreement with the manifest.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const specDir = process.argv[2] ?? join(here, "..", "..", "..", "spec");
const fixturesDir = join(specDir, "fixtures");
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const only = (pattern) => {
  const found = readdirSync(specDir).filter((name) => pattern.test(name));
  if (found.length !== 1) throw new Error(`expected one ${pattern} in ${specDir}, found ${found}`);
  return readJson(join(specDir, found[0]));
};

const schema = only(/^arcp-[0-9.]+\.schema\.json$/);
const meta = only(/^arcp-[0-9.]+\.meta-schema\.json$/);

function newAjv() {
  const ajv = new Ajv2020({ strict: true, discriminator: true, allErrors: false });
  addFormats(ajv, { mode: "full" });
  const declared = Object.entries(meta.properties).filter(([keyword]) => !ajv.getKeyword(keyword));
  ajv.addVocabulary(declared.map(([keyword, metaSchema]) => ({ keyword, metaSchema })));
  ajv.addMetaSchema(meta);
  return { ajv, declared: declared.map(([keyword]) => keyword) };
}

const { ajv, declared } = newAjv();
const options = Object.fromEntries(
  ["strict", "strictRequired", "strictTypes", "strictTuples", "discriminator"].map((o) => [o, ajv.opts[o]]),
);
const finish = (disagreements, checked) => {
  const report = { validator: "ajv", checked, options, keywords: declared, disagreements };
  console.log(JSON.stringify(report, null, 2));
  process.exit(disagreements.length ? 1 : 0);
};
// The schema's annotations have the shapes the meta-schema gives them (at every depth: the
// meta-schema extends 2020-12 through its `$dynamicAnchor`).
if (!ajv.validate(meta.$id, schema)) finish([{ id: "meta-schema", errors: ajv.errors }], 0);
const root = ajv.compile(schema);
// The same schema without the root's `not`: what this SDK reads (receive-only included).
const { not: _senderRule, $id, ...lenientRoot } = schema;
const lenient = newAjv().ajv.compile({ ...lenientRoot, $id: `${$id}:lenient` });

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

finish(disagreements, manifest.fixtures.length);
