/** Test helper: "ok" if the call succeeds, else the errno name it failed with (what userspace sees). */
export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
