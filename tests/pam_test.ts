import assert from "node:assert/strict";
import { envFrom } from "../lib/capture/environment.ts";
import { EXIT, TattleError } from "../lib/util/errors.ts";
import {
  closeAsOpened,
  cutAt,
  LIMITS,
  parseSshConnection,
  readSession,
  withTamper,
} from "../lib/capture/pam.ts";

const base = { PAM_USER: "alice", PAM_RHOST: "203.0.113.9", PAM_SERVICE: "sshd", PAM_TTY: "ssh" };

Deno.test("open_session and close_session map to opened and closed", () => {
  const opened = readSession(envFrom({ ...base, PAM_TYPE: "open_session" }));
  assert.deepEqual(opened, {
    state: "opened",
    user: "alice",
    rhost: "203.0.113.9",
    service: "sshd",
    tty: "ssh",
    truncated: [],
  });
  assert.equal(readSession(envFrom({ ...base, PAM_TYPE: "close_session" })).state, "closed");
});

Deno.test("any other PAM_TYPE is a usage error naming the value and the session stack", () => {
  for (const type of ["auth", "account", "password", "", undefined, "open_session\n"]) {
    assert.throws(
      () => readSession(envFrom({ ...base, PAM_TYPE: type })),
      (error: unknown) => {
        assert(error instanceof TattleError);
        assert.equal(error.exitCode, EXIT.USAGE);
        assert.match(error.message, type === undefined ? /PAM_TYPE is unset/ : /PAM_TYPE is "/);
        assert.match(error.message, /session stack/);
        return true;
      },
    );
  }
});

Deno.test("missing PAM values become empty strings", () => {
  const session = readSession(envFrom({ PAM_TYPE: "open_session" }));
  assert.equal(session.user, "");
  assert.equal(session.rhost, "");
  assert.equal(session.connection, undefined);
  assert.equal(session.authInfo, undefined);
});

Deno.test("SSH_CONNECTION gives the client address and port", () => {
  const session = readSession(envFrom({
    ...base,
    PAM_TYPE: "open_session",
    SSH_CONNECTION: "203.0.113.9 53122 10.0.0.12 22",
  }));
  assert.equal(session.tamper, undefined);
  assert.deepEqual(session.connection, {
    clientIp: "203.0.113.9",
    clientPort: 53122,
    serverIp: "10.0.0.12",
    serverPort: 22,
  });
  assert.deepEqual(parseSshConnection("2001:db8::1 40000 2001:db8::2 22")?.clientIp, "2001:db8::1");
});

Deno.test("an SSH_CONNECTION whose client is not PAM_RHOST's address is dropped and named", () => {
  const session = readSession(envFrom({
    ...base,
    PAM_TYPE: "open_session",
    SSH_CONNECTION: "10.1.2.3 22 10.0.0.12 22",
  }));
  assert.equal(session.connection, undefined);
  assert.deepEqual(session.tamper, ["SSH_CONNECTION"]);
  // With UseDNS, PAM_RHOST is a name: nothing to compare with.
  const named = readSession(envFrom({
    ...base,
    PAM_RHOST: "client.example.com",
    PAM_TYPE: "open_session",
    SSH_CONNECTION: "10.1.2.3 22 10.0.0.12 22",
  }));
  assert.equal(named.connection?.clientIp, "10.1.2.3");
  assert.equal(named.tamper, undefined);
});

Deno.test("a close reports the open's address and method, naming what changed", () => {
  const open = {
    connection: { clientIp: "203.0.113.9", clientPort: 1, serverIp: "10.0.0.1", serverPort: 22 },
    authInfo: "publickey ssh-ed25519 AAAA",
  };
  const close = readSession(envFrom({
    ...base,
    PAM_TYPE: "close_session",
    SSH_CONNECTION: "203.0.113.9 2 10.0.0.1 22",
    SSH_AUTH_INFO_0: "password",
  }));
  const reported = closeAsOpened(close, open);
  assert.deepEqual(reported.connection, open.connection);
  assert.equal(reported.authInfo, open.authInfo);
  assert.deepEqual(reported.tamper, ["SSH_AUTH_INFO_0", "SSH_CONNECTION"]);
  assert.equal(closeAsOpened({ ...close, ...open }, open).tamper, undefined, "unchanged");
  assert.deepEqual(
    withTamper(withTamper(close, ["B", "A"]), ["A", "C"]).tamper,
    ["A", "B", "C"],
    "sorted, without repeats",
  );
});

Deno.test("malformed SSH_CONNECTION is ignored", () => {
  for (
    const value of [
      "",
      "1.2.3.4 22",
      "1.2.3.4 x 5.6.7.8 22",
      "1.2.3.4 70000 5.6.7.8 22",
      "999.2.3.4 1 5.6.7.8 22",
      'evil" 1 5.6.7.8 22',
      "1.2.3.4 1 5.6.7.8 22 extra",
    ]
  ) {
    assert.equal(parseSshConnection(value), undefined, value);
  }
});

Deno.test("long values are cut and reported as truncated", () => {
  const session = readSession(envFrom({
    PAM_TYPE: "open_session",
    PAM_USER: "u".repeat(10_000),
    PAM_RHOST: "h",
    SSH_AUTH_INFO_0: "x".repeat(100_000),
  }));
  assert.equal(session.user.length, LIMITS.pamValue);
  assert.equal(session.authInfo?.length, LIMITS.authInfo);
  assert.deepEqual(session.truncated, ["username", "auth"]);
});

Deno.test("cutting never splits a surrogate pair", () => {
  assert.equal(cutAt("ab😀", 3), "ab");
  assert.equal(cutAt("ab😀", 4), "ab😀");
});
