/**
 * The sender's account (`tattle`) on this machine, made by systemd-sysusers
 * from contrib/sysusers.d/tattle.conf as a package would make it, and
 * removed afterwards unless it was there before (root only).
 */

import { senderAccount } from "../../lib/host/accounts.ts";
import { ROOT } from "./tattle.ts";

async function run(program: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(program, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** The `tattle` account, there until disposed. */
export async function withSenderAccount() {
  const existed = await senderAccount();
  if (!existed) {
    const conf = await Deno.readTextFile(`${ROOT}contrib/sysusers.d/tattle.conf`);
    await run("/usr/bin/systemd-sysusers", ["-"], conf);
  }
  const account = await senderAccount();
  if (!account) throw new Error("systemd-sysusers did not create the tattle account");
  return {
    ...account,
    async [Symbol.asyncDispose]() {
      if (existed) return;
      await run("/usr/sbin/userdel", [account.name]).catch(() => {});
      await run("/usr/sbin/groupdel", [account.name]).catch(() => {});
    },
  };
}
