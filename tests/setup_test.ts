/**
 * `tattle setup`, run as a process under the permission set against a copy
 * of a host's /etc/pam.d: where the line goes, what is refused, and that
 * `--uninstall` restores exactly what was there.
 */

import assert from "node:assert/strict";
import { LIFTED_LIMITS, PRLIMIT } from "../lib/setup/pam_line.ts";
import { MARKER } from "../lib/setup/pam_stack.ts";
import { lacks } from "./support/requires.ts";
import { runTattle } from "./support/tattle.ts";

/** What this machine's /etc/pam.d holds, the base of the stock-stack tests. */
const SYSTEM_PAM_D = "/etc/pam.d";

/** The stock-stack tests read this machine's /etc/pam.d/sshd (openssh-server's). */
const NO_STOCK_STACK = lacks(
  ["/etc/pam.d/sshd"],
  "apt-get install openssh-server: the tests of the stock stack read it",
);

const LINE = `session optional pam_exec.so quiet ${PRLIMIT} ${
  LIFTED_LIMITS.join(" ")
} -- /usr/sbin/tattle --config /etc/tattle/config.json`;

/** A Debian-like stack without user_readenv. */
const DEBIAN_LIKE = `# PAM configuration for the Secure Shell service
@include common-auth
account    required     pam_nologin.so
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
@include common-session
session    required     pam_limits.so
session    required     pam_env.so
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open
`;

interface HostOptions {
  /** Files under etc/pam.d besides sshd (name → text); or "system" for a copy of this machine's. */
  pamD?: Record<string, string> | "system";
  /** Whether usr/bin/prlimit exists under the root. */
  prlimit?: boolean;
}

async function host(sshd: string | undefined, options: HostOptions = {}) {
  const root = await Deno.makeTempDir({ prefix: "tattle-setup-" });
  await Deno.mkdir(`${root}/etc/pam.d`, { recursive: true });
  await Deno.mkdir(`${root}/var/spool`, { recursive: true });
  if (options.pamD === "system") {
    for (const entry of Deno.readDirSync(SYSTEM_PAM_D)) {
      if (entry.isFile) {
        await Deno.copyFile(`${SYSTEM_PAM_D}/${entry.name}`, `${root}/etc/pam.d/${entry.name}`);
      }
    }
  } else {
    for (const [name, text] of Object.entries(options.pamD ?? {})) {
      await Deno.writeTextFile(`${root}/etc/pam.d/${name}`, text);
    }
  }
  if (sshd !== undefined) await Deno.writeTextFile(`${root}/etc/pam.d/sshd`, sshd);
  if (options.prlimit !== false) {
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.writeTextFile(`${root}${PRLIMIT}`, "");
  }
  const setup = (...args: string[]) =>
    runTattle(["setup", "--root", root, ...args], {}, { read: [root], write: [root] });
  const pamText = () => Deno.readTextFile(`${root}/etc/pam.d/sshd`);
  return {
    root,
    setup,
    pamText,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** Every file under `dir` with its content, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) walk(full);
      else out[full.slice(dir.length)] = Deno.readTextFileSync(full);
    }
  };
  walk(dir);
  return out;
}

Deno.test(
  "this machine's stock sshd stack reads ~/.pam_environment: setup --pam refuses (78) and changes nothing",
  { ignore: NO_STOCK_STACK },
  async () => {
    const stock = await Deno.readTextFile(`${SYSTEM_PAM_D}/sshd`);
    assert.match(stock, /pam_env\.so.*user_readenv=1/, "the stock stack this test is about");
    await using h = await host(undefined, { pamD: "system" });
    const before = snapshot(h.root);
    const result = await h.setup("--pam");
    assert.equal(result.code, 78, result.stderr);
    const lineNumber = stock.split("\n").findIndex((l) => /^[^#]*user_readenv=1/.test(l)) + 1;
    assert.match(
      result.stderr,
      new RegExp(
        `^tattle: error: ${h.root}/etc/pam.d/sshd line ${lineNumber} enables user_readenv=1 \\(.*pam_env\\.so.*\\): ` +
          "every user's ~/.pam_environment would reach tattle, which runs as root, .*LD_PRELOAD.* run as root; " +
          "run tattle setup --pam --disable-user-readenv .*Nothing was changed\\n$",
      ),
    );
    assert.deepEqual(snapshot(h.root), before, "byte-for-byte unchanged, nothing created");
  },
);

Deno.test(
  "--disable-user-readenv on the stock stack: the line after common-session, readenv off, uninstall restores every byte",
  { ignore: NO_STOCK_STACK },
  async () => {
    await using h = await host(undefined, { pamD: "system" });
    const stock = await h.pamText();
    const result = await h.setup("--pam", "--disable-user-readenv");
    assert.equal(result.code, 0, result.stderr);
    const pam = await h.pamText();
    assert(!/^[^#]*user_readenv=1/m.test(pam), "no user_readenv=1 left");
    const lines = pam.split("\n");
    const at = lines.indexOf(LINE);
    assert(at > 0, pam);
    assert.equal(lines[at - 1], MARKER);
    assert.match(lines[at - 2], /^@include common-session$/);
    const firstEnv = lines.findIndex((l) => /^session\s.*pam_(env|limits)\.so/.test(l));
    assert(at < firstEnv, "before pam_limits and pam_env");
    assert.equal(await Deno.readTextFile(`${h.root}/etc/pam.d/sshd.tattle-backup`), stock);
    assert.match(result.stdout, /set user_readenv=0 on .*sshd line\(s\) \d+/);

    const again = await h.setup("--pam", "--disable-user-readenv");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await h.pamText(), pam, "a second run changes nothing");

    const removed = await h.setup("--uninstall");
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await h.pamText(), stock, "exactly what was there");
    assert.match(
      (await h.setup("--uninstall")).stdout,
      /no change made by tattle setup: unchanged/,
    );
  },
);

Deno.test("first install on a stack without user_readenv: config, spool, the line, a backup", async () => {
  await using h = await host(DEBIAN_LIKE);
  const result = await h.setup("--pam");
  assert.equal(result.code, 0, result.stderr);
  const config = JSON.parse(await Deno.readTextFile(`${h.root}/etc/tattle/config.json`));
  assert.deepEqual(config, {
    identity: "imds",
    mode: "background",
    timeout: 2,
    spool_dir: "/var/spool/tattle",
  });
  const info = await Deno.stat(`${h.root}/etc/tattle/config.json`);
  assert.equal(info.mode! & 0o022, 0, "not group or world writable");
  assert.equal((await Deno.stat(`${h.root}/var/spool/tattle`)).mode! & 0o777, 0o700);
  assert.equal(
    await h.pamText(),
    DEBIAN_LIKE.replace(
      "@include common-session\n",
      `@include common-session\n${MARKER}\n${LINE}\n`,
    ),
  );
  assert.equal(await Deno.readTextFile(`${h.root}/etc/pam.d/sshd.tattle-backup`), DEBIAN_LIKE);
  assert.match(result.stdout, /added to .*sshd: session optional pam_exec\.so quiet/);
});

Deno.test("without @include common-session: before the first pam_env, pam_limits or pam_selinux open line", async (t) => {
  const cases: Array<[string, string, string]> = [
    [
      "RHEL-like, selinux open first",
      "session required pam_selinux.so close\nsession required pam_loginuid.so\nsession required pam_selinux.so open env_params\nsession include password-auth\n",
      "session required pam_selinux.so open env_params",
    ],
    [
      "pam_limits first",
      "session required pam_unix.so\nsession required pam_limits.so\nsession required pam_env.so\n",
      "session required pam_limits.so",
    ],
  ];
  for (const [name, stack, before] of cases) {
    await t.step(name, async () => {
      await using h = await host(stack, {
        pamD: { "password-auth": "session required pam_unix.so\n" },
      });
      const result = await h.setup("--pam");
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await h.pamText(), stack.replace(before, `${MARKER}\n${LINE}\n${before}`));
    });
  }
  await t.step("none of them: at the end", async () => {
    const stack = "session required pam_unix.so\n";
    await using h = await host(stack);
    await h.setup("--pam");
    assert.equal(await h.pamText(), `${stack}${MARKER}\n${LINE}\n`);
  });
});

Deno.test("user_readenv=1 anywhere in the stack counts: an auth line, or an included file", async (t) => {
  await t.step("an auth-type pam_env line (it runs at setcred, before the session)", async () => {
    const stack = `auth required pam_env.so user_readenv=1\n${DEBIAN_LIKE}`;
    await using h = await host(stack);
    const result = await h.setup("--pam");
    assert.equal(result.code, 78);
    assert.match(result.stderr, /sshd line 1 enables user_readenv=1/);
    assert.equal(await h.pamText(), stack);
  });
  await t.step("in an included file: refused even with --disable-user-readenv", async () => {
    await using h = await host(DEBIAN_LIKE, {
      pamD: { "common-session": "session required pam_env.so user_readenv=1\n" },
    });
    const result = await h.setup("--pam", "--disable-user-readenv");
    assert.equal(result.code, 78);
    assert.match(
      result.stderr,
      /common-session line 1 enables user_readenv=1 .*included by .*sshd: .*set user_readenv=0 there by hand/,
    );
    assert.equal(await h.pamText(), DEBIAN_LIKE);
  });
});

Deno.test("a line an older setup appended at the end is moved where the environment is clean", async () => {
  const old =
    `${DEBIAN_LIKE}${MARKER}\nsession optional pam_exec.so /usr/local/bin/tattle --config /etc/tattle/config.json\n`;
  await using h = await host(old);
  const result = await h.setup("--pam");
  assert.equal(result.code, 0, result.stderr);
  const pam = await h.pamText();
  assert.equal(pam.split(MARKER).length, 2, "one marked line");
  assert(pam.indexOf(LINE) < pam.indexOf("pam_limits.so"));
  await h.setup("--uninstall");
  assert.equal(await h.pamText(), DEBIAN_LIKE);
});

Deno.test("migration: the original tool's line is replaced by setup's, doctor passes, uninstall restores it", async () => {
  // The original unbounce/tattle's documented line, as fleets moving from it have it.
  const original = "session optional pam_exec.so /usr/local/bin/tattle";
  const own = `${DEBIAN_LIKE}${original}\n`;
  await using h = await host(own, { pamD: { "common-session": "session required pam_unix.so\n" } });
  const result = await h.setup("--pam");
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /sshd line 10 ran tattle as setup does not \(session optional pam_exec\.so \/usr\/local\/bin\/tattle\): setup's own line replaces it .*--uninstall restores it/,
  );
  const pam = await h.pamText();
  const running = pam.split("\n").filter((l) => /^session.*pam_exec\.so/.test(l));
  assert.deepEqual(running, [LINE], "one line runs tattle: setup's");
  assert(pam.indexOf(LINE) < pam.indexOf("pam_limits.so"), "before the user's state");
  assert.equal(await Deno.readTextFile(`${h.root}/etc/pam.d/sshd.tattle-backup`), own);
  const doctor = await runTattle(
    ["doctor", "--root", h.root, "--identity", "none", "--region", "us-east-1"],
    {},
    { read: [h.root] },
  );
  assert.match(doctor.stdout, /✓ PAM stack: .*runs tattle through prlimit/);
  assert.equal((await h.setup("--pam")).code, 0, "a second run");
  assert.equal(await h.pamText(), pam, "changes nothing more");
  await h.setup("--uninstall");
  assert.equal(await h.pamText(), own, "the original bytes");
});

Deno.test("refusals change nothing: an unparsable file, a missing prlimit", async (t) => {
  await t.step("unparsable", async () => {
    const broken = `${DEBIAN_LIKE}this is not pam\n`;
    await using h = await host(broken);
    const result = await h.setup("--pam");
    assert.equal(result.code, 78);
    assert.match(
      result.stderr,
      /^tattle: error: .*sshd line 10 is not a PAM directive \(this is not pam\): not changed\n$/,
    );
    assert.equal(await h.pamText(), broken);
  });
  await t.step("no prlimit", async () => {
    await using h = await host(DEBIAN_LIKE, { prlimit: false });
    const result = await h.setup("--pam");
    assert.equal(result.code, 78);
    assert.match(result.stderr, /usr\/bin\/prlimit is missing: install util-linux/);
    assert.equal(await h.pamText(), DEBIAN_LIKE);
  });
});
