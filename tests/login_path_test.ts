/** The login path loads no AWS SDK: everything that talks to AWS is imported on use. */

import assert from "node:assert/strict";
import { ROOT } from "./support/tattle.ts";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}

Deno.test("main.ts statically imports no npm package and no node:crypto", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--config=${ROOT}deno.json`, `${ROOT}main.ts`],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: Array<{ specifier: string; dependencies?: Dependency[] }>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const queue = [...graph.roots];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) queue.push(dep.code.specifier);
    }
  }
  const offending = [...loaded].filter((s) => s.startsWith("npm:") || s === "node:crypto");
  assert.deepEqual(offending, []);
  // And the SDK is there, behind dynamic imports.
  assert(
    graph.modules.some((m) => m.specifier.startsWith("npm:") || m.specifier.includes("@aws-sdk")),
  );
  assert(loaded.has(`file://${ROOT}lib/delivery/spool.ts`));
});
