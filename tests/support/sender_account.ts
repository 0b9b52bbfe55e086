/**
 * The sender's account (`tattle`) on this machine, made by systemd-sysusers
 * from contrib/sysusers.d/tattle.conf as a package would make it, and
 * removed afterwards unless it was there before (root only).
 */

import { senderAccount } from "../../lib/host/accounts.ts";
import { runChecked } from "./command.ts";
import { ROOT } from "./tattle.ts";

/** The `tattle` account, there until disposed. */
export async function withSenderAccount() {
  const existed = await senderAccount();
  if (!existed) {
    const conf = await Deno.readTextFile(`${ROOT}contrib/sysusers.d/tattle.conf`);
    await runChecked("/usr/bin/systemd-sysusers", ["-"], conf);
  }
  const account = await senderAccount();
  if (!account) throw new Error("systemd-sysusers did not create the tattle account");
  return {
    ...account,
    async [Symbol.asyncDispose]() {
      if (existed) return;
      await runChecked("/usr/sbin/userdel", [account.name]).catch(() => {});
      await runChecked("/usr/sbin/groupdel", [account.name]).catch(() => {});
    },
  };
}
