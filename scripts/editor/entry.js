// The definition editor of /admin/services/{id}/edit (issue #9 item 4).
// Progressive enhancement: the page is a plain <textarea> form that works
// without JavaScript; this turns the textarea into a CodeMirror 6 editor with
// YAML highlighting, completion from the exported JSON Schema, and the
// platform's own check (the same loader as `eservice check`) shown at its line.
// Built into renderers/static/editor.js by scripts/editor/build.sh.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { linter, lintGutter } from "@codemirror/lint";
import { hoverTooltip } from "@codemirror/view";
import { yamlCompletion, yamlSchemaHover } from "codemirror-json-schema/yaml";
import { stateExtensions } from "codemirror-json-schema";

function problemText(p, lang) {
  const main = lang === "en" ? `${p.en} — ${p.th}` : `${p.th} — ${p.en}`;
  const fix = lang === "en" ? (p.fix_en || p.fix_th) : (p.fix_th || p.fix_en);
  return fix ? `${main}\n${lang === "en" ? "Fix" : "วิธีแก้"}: ${fix}` : main;
}

function showList(list, problems, lang, okText) {
  if (!list) return;
  list.textContent = "";
  if (!problems.length) {
    const li = document.createElement("li");
    li.textContent = okText;
    list.appendChild(li);
    return;
  }
  for (const p of problems) {
    const li = document.createElement("li");
    li.textContent = `${lang === "en" ? "Line" : "บรรทัด"} ${p.line}: ${problemText(p, lang)}`;
    list.appendChild(li);
  }
}

async function start(textarea) {
  const lang = document.documentElement.lang || "th";
  const form = textarea.form;
  const checkUrl = textarea.dataset.checkUrl;
  const token = form.querySelector("input[name=csrf_token]").value;
  const list = document.getElementById(textarea.dataset.problems);
  const okText = textarea.dataset.okText || "";
  let schema = {};
  try {
    schema = await (await fetch(textarea.dataset.schemaUrl, { credentials: "same-origin" })).json();
  } catch (e) { /* completion is optional; the check still runs */ }

  const check = linter(async (view) => {
    const body = new FormData();
    body.append("text", view.state.doc.toString());
    const res = await fetch(checkUrl, {
      method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": token },
    });
    if (!res.ok) return [];
    const data = await res.json();
    const doc = view.state.doc;
    showList(list, data.problems, lang, okText);
    return data.problems.map((p) => {
      const line = doc.line(Math.min(Math.max(p.line, 1), doc.lines));
      const from = Math.min(line.from + Math.max(p.column - 1, 0), line.to);
      return { from, to: line.to > from ? line.to : from, severity: "error", message: problemText(p, lang) };
    });
  }, { delay: 600 });

  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup, yaml(), lintGutter(), check,
        EditorState.readOnly.of(textarea.readOnly), EditorView.editable.of(!textarea.readOnly),
        yamlLanguage.data.of({ autocomplete: yamlCompletion() }),
        hoverTooltip(yamlSchemaHover()),
        stateExtensions(schema),
        EditorView.contentAttributes.of({ "aria-label": textarea.dataset.label || "YAML", tabindex: "0" }),
        EditorView.updateListener.of((u) => { if (u.docChanged) textarea.value = u.state.doc.toString(); }),
      ],
    }),
  });
  textarea.hidden = true;
  textarea.setAttribute("aria-hidden", "true");
  textarea.parentNode.insertBefore(view.dom, textarea.nextSibling);
  view.dom.classList.add("yaml-editor");
  form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); });
  window.eserviceEditor = view; // for the browser tests
}

document.addEventListener("DOMContentLoaded", () => {
  for (const t of document.querySelectorAll("textarea[data-yaml-editor]")) start(t);
});
