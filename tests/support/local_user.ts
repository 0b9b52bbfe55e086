/**
 * A real local user, in a group of its own and one made for the test,
 * known to this machine's name service until disposed (root only).
 */

async function run(program: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(program, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** Creates the group `<prefix>g…`, then the user `<prefix>u…` in it (and in its own group). */
export async function localUser(prefix = "tt") {
  const tag = crypto.randomUUID().slice(0, 8);
  const group = `${prefix}g${tag}`;
  const name = `${prefix}u${tag}`;
  await run("/usr/sbin/groupadd", group);
  try {
    await run("/usr/sbin/useradd", "--no-create-home", "--user-group", "--groups", group, name);
  } catch (error) {
    await run("/usr/sbin/groupdel", group);
    throw error;
  }
  return {
    name,
    group,
    uid: Number(await run("/usr/bin/id", "-u", name)),
    async [Symbol.asyncDispose]() {
      await run("/usr/sbin/userdel", name).catch(() => {});
      await run("/usr/sbin/groupdel", name).catch(() => {}); // its own group, where userdel left it
      await run("/usr/sbin/groupdel", group);
    },
  };
}
