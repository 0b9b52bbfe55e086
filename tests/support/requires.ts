/**
 * Tests that need a tool this machine may lack: they say why they skip, and
 * under `CI=true` (where `.ci/run` installs every tool) they fail instead.
 */

/**
 * Whether the test must skip because a path in `paths` is missing; says so,
 * with the package to install. Throws under `CI=true`.
 */
export function lacks(paths: string[], install: string): boolean {
  const absent = paths.filter((path) => {
    try {
      Deno.statSync(path);
      return false;
    } catch {
      return true;
    }
  });
  if (absent.length === 0) return false;
  const reason = `${absent.join(", ")} missing (${install})`;
  if (Deno.env.get("CI") === "true") throw new Error(`cannot run in CI: ${reason}`);
  console.log(`  skipped: ${reason}`);
  return true;
}
