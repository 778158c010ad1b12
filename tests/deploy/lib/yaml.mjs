// YAML documents of a file (or of a string), each with where it came from and its parse errors.
import fs from 'node:fs';
import YAML from 'yaml';

export function loadDocs(file, text = null) {
  const src = text ?? fs.readFileSync(file, 'utf8');
  return YAML.parseAllDocuments(src).map((d, i) => ({
    source: `${file ?? '<inline>'}#${i + 1}`,
    errors: d.errors.map((e) => e.message),
    object: d.errors.length ? null : d.toJS(),
  })).filter((d) => d.errors.length || (d.object !== null && d.object !== undefined));
}

// Every *.yaml / *.yml below `dir`, sorted.
export function yamlFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}
