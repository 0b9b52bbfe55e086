import assert from "node:assert/strict";
import { runTattle } from "./support/tattle.ts";

const STACK = `# PAM configuration for the Secure Shell service
@include common-auth
account    required     pam_nologin.so
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
@include common-session
`;

async function host(pam: string | undefined = STACK) {
  const root = await Deno.makeTempDir({ prefix: "tattle-setup-" });
  await Deno.mkdir(`${root}/etc/pam.d`, { recursive: true });
  await Deno.mkdir(`${root}/var/spool`, { recursive: true });
  if (pam !== undefined) await Deno.writeTextFile(`${root}/etc/pam.d/sshd`, pam);
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

Deno.test("first install: config, spool and the PAM line, with a backup", async () => {
  await using h = await host();
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
  assert.equal(info.uid, Deno.uid());
  assert.equal((await Deno.stat(`${h.root}/var/spool/tattle`)).mode! & 0o777, 0o700);
  const pam = await h.pamText();
  assert(pam.startsWith(STACK));
  assert.match(
    pam.slice(STACK.length),
    /^# added by tattle setup.*\nsession optional pam_exec\.so \/usr\/local\/bin\/tattle --config \/etc\/tattle\/config\.json\n$/,
  );
  assert.equal(await Deno.readTextFile(`${h.root}/etc/pam.d/sshd.tattle-backup`), STACK);
  assert.match(result.stdout, /added to .*sshd: session optional pam_exec.so/);
});

Deno.test("second install changes nothing", async () => {
  await using h = await host();
  await h.setup("--pam");
  await Deno.writeTextFile(
    `${h.root}/etc/tattle/config.json`,
    '{"identity": "none", "region": "eu-west-1"}',
  );
  const pam = await h.pamText();
  const again = await h.setup("--pam");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await h.pamText(), pam);
  assert.equal(
    await Deno.readTextFile(`${h.root}/etc/tattle/config.json`),
    '{"identity": "none", "region": "eu-west-1"}',
  );
  assert.match(again.stdout, /already runs tattle: unchanged/);
});

Deno.test("uninstall removes exactly what setup added", async () => {
  await using h = await host();
  await h.setup("--pam");
  await Deno.writeTextFile(
    `${h.root}/etc/pam.d/sshd`,
    (await h.pamText()) + "session optional pam_motd.so\n",
  );
  const result = await h.setup("--uninstall");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await h.pamText(), STACK + "session optional pam_motd.so\n");
  const twice = await h.setup("--uninstall");
  assert.match(twice.stdout, /no line added by tattle setup: unchanged/);
});

Deno.test("a PAM file that already runs tattle is left alone, and uninstall keeps that line", async () => {
  const own = `${STACK}session optional pam_exec.so /opt/tattle/tattle\n`;
  await using h = await host(own);
  const result = await h.setup("--pam");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await h.pamText(), own);
  await h.setup("--uninstall");
  assert.equal(await h.pamText(), own);
});

Deno.test("a PAM file it cannot parse is refused and not changed", async () => {
  const broken = `${STACK}this is not pam\n`;
  await using h = await host(broken);
  const result = await h.setup("--pam");
  assert.equal(result.code, 78);
  assert.match(
    result.stderr,
    /^tattle: error: .*sshd line 7 is not a PAM directive \(this is not pam\): not changed\n$/,
  );
  assert.equal(await h.pamText(), broken);
});
