/**
 * Tests that need a tool or a privilege this machine may lack. Each is asked
 * when a test is registered (`Deno.test(name, { ignore: lacks(...) }, fn)`):
 * the test is reported ignored, and why is printed once, as its file loads.
 * Under `CI=true` (where `.ci/run` installs every tool and runs as root) a
 * lack fails the file instead.
 */

/**
 * Whether the test must be ignored because a path in `paths` is missing;
 * says so, with the package to install. Throws under `CI=true`.
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
  return skipUnless(absent.length ? `${absent.join(", ")} missing` : undefined, install);
}

/** Whether the test must be ignored because it is not root; says so. Throws under `CI=true`. */
export function notRoot(why: string): boolean {
  return skipUnless(Deno.uid() === 0 ? undefined : "not root", why);
}

function skipUnless(missing: string | undefined, remedy: string): boolean {
  if (missing === undefined) return false;
  const reason = `${missing} (${remedy})`;
  if (Deno.env.get("CI") === "true") throw new Error(`cannot run in CI: ${reason}`);
  console.log(`ignored: ${reason}`);
  return true;
}
