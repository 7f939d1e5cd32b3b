// Changelog lines for `changeset version`. Each change links the commit that added its changeset
// (`<repo>/commit/<sha>`, the repository given in config.json), so a reader gets from a line to
// the diff. @changesets/changelog-github would also link pull requests and authors, but it needs
// a GitHub token at version time; commit links need only git.
/** The commit link for `sha`, or "" when git did not find the commit (e.g. an uncommitted changeset). */
function commitLink(sha, options) {
  if (!sha) return "";
  const repo = String(options?.repo ?? "").replace(/\/+$/, "");
  if (repo === "") throw new Error('.changeset/changelog.cjs needs the option { "repo": "https://…" }');
  return `[${sha.slice(0, 7)}](${repo}/commit/${sha})`;
}

/** One changeset: its summary's first line, the commit link, then the rest of the summary indented. */
async function getReleaseLine(changeset, _type, options) {
  const [first, ...rest] = changeset.summary.trim().split("\n");
  const link = commitLink(changeset.commit, options);
  let line = `- ${link === "" ? "" : `${link}: `}${first.trimEnd()}`;
  if (rest.length > 0) line += `\n${rest.map((l) => `  ${l}`.trimEnd()).join("\n")}`;
  return line;
}

/** The "dependencies moved" entry: the changesets that moved them, and the new versions. */
async function getDependencyReleaseLine(changesets, dependenciesUpdated, options) {
  if (dependenciesUpdated.length === 0) return "";
  const links = changesets.map((c) => commitLink(c.commit, options)).filter((l) => l !== "");
  return [
    `- Updated dependencies${links.length > 0 ? ` ${links.join(", ")}` : ""}`,
    ...dependenciesUpdated.map((d) => `  - ${d.name}@${d.newVersion}`),
  ].join("\n");
}

module.exports = { getReleaseLine, getDependencyReleaseLine };
