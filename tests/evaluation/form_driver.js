// Runs form.html's inline script against a minimal DOM (node has no browser): the radios checked
// and the fields filled come from a JSON file; prints what the Download button would save.
// Usage: node form_driver.js SCRIPT.js FILLED.json
const fs = require("fs");
const vm = require("vm");
const [scriptFile, filledFile] = process.argv.slice(2);
const filled = JSON.parse(fs.readFileSync(filledFile, "utf8"));
const elements = { rater: { value: filled.rater }, save: {}, status: { textContent: "" } };
const saved = { csv: null, name: null, type: null, clicked: false };
const sandbox = {
  document: {
    getElementById: (id) => elements[id] || null,
    querySelector: (selector) => {
      let m = /^input\[name="([^"]+)"\]:checked$/.exec(selector);
      if (m) return m[1] in filled.checked ? { value: String(filled.checked[m[1]]) } : null;
      m = /^textarea\[name="([^"]+)"\]$/.exec(selector);
      if (m) return { value: filled.comments[m[1]] || "" };
      throw new Error("unexpected selector " + selector);
    },
    createElement: (tag) => ({ tag, click() { saved.clicked = true; saved.name = this.download; } }),
  },
  Blob: class { constructor(parts, options) { saved.csv = parts.join(""); saved.type = options.type; } },
  URL: { createObjectURL: () => "blob:form" },
};
vm.runInNewContext(fs.readFileSync(scriptFile, "utf8"), sandbox);
elements.save.onclick();
saved.status = elements.status.textContent;
process.stdout.write(JSON.stringify(saved));
