/**
 * A path outside the binary's permission set is a configuration error
 * (exit 78) that names the setting and the paths the binary may use, never
 * an internal error with the runtime's flag hint: tattle run as a process
 * under exactly the permission set, no test paths added.
 */

import assert from "node:assert/strict";
import { assertReachable } from "../lib/config/reach.ts";
import { DEFAULTS } from "../lib/config/config.ts";
import { EXIT, TattleError } from "../lib/util/errors.ts";
import { pamEnv, runTattle } from "./support/tattle.ts";

const ELSEWHERE = "/srv/tattle-not-allowed";

function assertRefused(result: { code: number; stderr: string }, message: RegExp) {
  assert.equal(result.code, EXIT.CONFIG, result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^tattle: error: /);
  assert.match(lines[0], message);
  assert.doesNotMatch(lines[0], /internal error|run again with/);
}

Deno.test("a path setting outside the permission set: exit 78, the setting and the allowed paths", async (t) => {
  const cases: Array<[string, string[], Record<string, string>]> = [
    ["status --spool-dir", ["status", "--spool-dir", ELSEWHERE], {}],
    ["flush --state-dir", ["flush", "--state-dir", ELSEWHERE], {}],
    ["the hook with --runtime-dir", ["--runtime-dir", ELSEWHERE], pamEnv()],
  ];
  for (const [name, args, env] of cases) {
    await t.step(name, async () => {
      const setting = args.find((a) => a.startsWith("--"))!.slice(2).replace("-", "_");
      const wanted = name.startsWith("the hook") ? "runtime_dir" : setting;
      assertRefused(
        await runTattle(args, env),
        new RegExp(
          `${wanted} ${ELSEWHERE} is outside what tattle may read and write .*read: /etc/tattle, /var/spool/tattle.*; write: /var/spool/tattle`,
        ),
      );
    });
  }
  await t.step("--config", async () => {
    assertRefused(
      await runTattle(["status", "--config", `${ELSEWHERE}/config.json`], {}),
      /config file \/srv\/tattle-not-allowed\/config\.json is outside what tattle may read .*read: \/etc\/tattle/,
    );
  });
  for (const command of ["setup", "doctor"]) {
    await t.step(`${command} --root`, async () => {
      assertRefused(
        await runTattle([command, "--root", ELSEWHERE], {}),
        new RegExp(
          `${command} --root ${ELSEWHERE}: the binary may not .*chroot ${ELSEWHERE} tattle ${command}`,
        ),
      );
    });
  }
});

Deno.test("assertReachable asks for what each setting needs, and names the first refused", async () => {
  const asked: string[] = [];
  await assertReachable(DEFAULTS, (access, path) => (asked.push(`${access} ${path}`), true));
  assert(
    asked.includes("write /var/spool/tattle") && asked.includes("read /run/tattle"),
    asked.join(),
  );
  await assert.rejects(
    assertReachable(
      { ...DEFAULTS, state_dir: "/srv/state" },
      (access, path) => !(access === "write" && path === "/srv/state"),
    ),
    (error: unknown) =>
      error instanceof TattleError && error.exitCode === EXIT.CONFIG &&
      /^state_dir \/srv\/state is outside what tattle may write /.test(error.message),
  );
});
