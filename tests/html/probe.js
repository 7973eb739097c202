// Appended by check.sh to a copy of `albertner tag --format html` output, after a line
// `const expected = [...]` holding the `--format jsonl` records of the same texts. Reads the DOM that
// Chromium built and writes a report into a new pre element (id albertner-check), one finding per line:
//   docs N | marks N | all-marks N | labels L1,L2,... | legend T1,T2,... | FAIL <why>
// For every document: its text (label tags left out) is the input text, and every code point carries
// the label of the first entity covering it (or none), as the marks show it.
(() => {
  const out = [];
  const fail = (why) => out.push("FAIL " + why);
  const docs = document.querySelectorAll("p.doc");
  const marks = document.querySelectorAll("p.doc > mark.entity");
  out.push("docs " + docs.length);
  out.push("marks " + marks.length);
  out.push("all-marks " + document.querySelectorAll("mark.entity").length);
  out.push("labels " + Array.from(marks, (m) => m.dataset.label).join(","));
  if (docs.length !== expected.length) fail(docs.length + " documents rendered, " + expected.length + " tagged");
  // Bidi: each document has its own direction (an Arabic one right-to-left), each entity is isolated.
  docs.forEach((p, i) => {
    if (!["ltr", "rtl", "auto"].includes(p.dir)) fail("document " + i + " has dir='" + p.dir + "'");
  });
  docs.forEach((p, i) => {
    if (i < expected.length && /[\u0600-\u06FF]/.test(expected[i].text) && !p.matches(":dir(rtl)"))
      fail("Arabic document " + i + " is not right-to-left (:dir(rtl))");
  });
  for (const m of marks) {
    const bdi = m.querySelector("bdi");
    if (!bdi) fail("mark " + m.dataset.label + " has no <bdi>");
    else if (getComputedStyle(bdi).unicodeBidi !== "isolate")
      fail("mark " + m.dataset.label + ": its <bdi> is unicode-bidi " + getComputedStyle(bdi).unicodeBidi);
  }
  // The legend: one sample per type on the page, no more, no fewer.
  const legend = Array.from(document.querySelectorAll("footer.legend mark.legend"), (m) => m.dataset.label);
  out.push("legend " + legend.join(","));
  const types = Array.from(new Set(Array.from(marks, (m) => m.dataset.label))).sort();
  if (legend.slice().sort().join(",") !== types.join(","))
    fail("legend lists " + legend.join(",") + ", the page marks " + types.join(","));
  for (const m of marks) {
    const tag = m.querySelector("span.label");
    if (!tag || tag.textContent !== m.dataset.label)
      fail("mark " + m.dataset.label + " shows the tag '" + (tag ? tag.textContent : "") + "'");
    const bg = getComputedStyle(m).backgroundColor;
    if (!bg || bg === "rgba(0, 0, 0, 0)" || bg === "transparent") fail("mark " + m.dataset.label + " has no background");
  }
  docs.forEach((p, i) => {
    if (i >= expected.length) return;
    const got = []; // label of each code point as the page shows it, "-" for none
    let text = "";
    for (const node of p.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        for (const ch of node.textContent) got.push("-");
        text += node.textContent;
      } else if (node.nodeType === Node.ELEMENT_NODE && node.matches("mark.entity")) {
        const copy = node.cloneNode(true);
        copy.querySelectorAll("span.label").forEach((s) => s.remove());
        for (const ch of copy.textContent) got.push(node.dataset.label);
        text += copy.textContent;
      } else {
        fail("document " + i + ": unexpected <" + node.nodeName.toLowerCase() + "> in p.doc");
      }
    }
    const want = Array.from(expected[i].text, () => "-");
    for (const e of expected[i].entities) {
      const type = e.entity_group.replace(/^[BI]-/, "");
      for (let k = e.start; k < e.end; ++k) if (want[k] === "-") want[k] = type;
    }
    if (text !== expected[i].text) fail("document " + i + " reads " + JSON.stringify(text));
    else if (got.length !== want.length) fail("document " + i + ": " + got.length + " code points, want " + want.length);
    else
      for (let k = 0; k < got.length; ++k)
        if (got[k] !== want[k]) {
          fail("document " + i + " code point " + k + " (" + Array.from(text)[k] + "): shown " + got[k] + ", tagged " + want[k]);
          break;
        }
  });
  const pre = document.createElement("pre");
  pre.id = "albertner-check";
  pre.textContent = out.join("\n");
  document.body.appendChild(pre);
})();
