"""Look at the faces: the report's error gallery and the sample browser of an evaluation set.

Both are built from files the run already has, and no video is decoded again:

- the set's validated sample table and its frame shards' stored images: ``face_crop`` (the APEX
  crop), ``onset_crop``, and ``apex_jpeg`` (the full frame) for a sample without a face; a
  composite reads its source datasets' shards (sample ids prefixed ``<dataset>/``, as its table);
- each classifier's unperturbed predictions as the aggregate stage evaluated them (its
  ``ClassifierResult``s, handed over in the same job: true labels in the set's scheme, a composite's
  off-the-shelf predictions re-scored, and the reason of a classifier that did not run);
  confidence = probability of the predicted class (``confidence.prediction_confidence``), as in the
  report's confidence table.

**Gallery** (a fragment of the set's report section): per classifier, the ``gallery`` most confident
wrong predictions (confidence descending, then sample id), each shown as the APEX crop and the onset
crop where there is one, with true label, predicted label, confidence and sample id; then the
samples where no face was found (full APEX frame, scaled down) and the samples that every classifier
with predictions got wrong (failures count as wrong, as in the metrics; samples without a face are
in the strip before), ordered by the mean confidence of those predictions. Thumbnails are JPEG
``data:`` URIs inside ``<figure data-figure>``, so the report's load check counts every one.

**Sample browser** (``results/<set>/samples.html``): one self-contained page, one row per validated
sample (crops, label, face status, each classifier's prediction and confidence). The rows are a
compact JSON array in the page; an inline script renders one page of rows at a time and filters
(text, label, face status, wrong by a classifier / by any / by every classifier) and sorts (any
column, a classifier's confidence) on the client. Its state lives in the URL fragment
(``#q=..&label=..&face=..&wrong=..&sort=..&dir=..&page=..``): the page applies it on load, so a
headless browser can be sent to a filtered, sorted view and read the result, which the script
records on ``<body>`` (``data-browser="ready"``, ``data-matched``, ``data-visible``: the ids shown,
in order; see ``apexbench.browser``).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from .aggregate import ClassifierResult
from .composite import SOURCE_COLUMN
from .labels import SCHEMES, scheme_label
from .metrics import unavailable_status
from .report import CHECK_SCRIPT, CSS, _esc
from .tables import read_parquet, read_table, write_text

DEFAULTS = {"gallery": 24, "browser_page": 100, "browser_thumb": 64}
GALLERY_THUMB = 96  # px, longer side of a gallery crop
FRAME_THUMB = 128  # px, longer side of a full frame in the no-face strip
# JPEG (quality 75, optimised Huffman tables), not WebP: libwebp took 0.29 ms per 48 px face (9 s
# of the aggregate job on FER2013's 28,709 faces), this takes 0.025 ms for about 1.2x the bytes.
JPEG_OPTIONS = [cv2.IMWRITE_JPEG_QUALITY, 75, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
IMAGE_COLUMNS = ["sample_id", "face_status", "face_crop", "onset_crop", "apex_jpeg"]


@dataclass
class ClassifierView:
    """One classifier on one set: ``note`` says why it has no predictions (unavailable, not
    applicable), else ``frame`` (index ``sample_id``, in-scheme samples): label, pred, status,
    confidence, correct."""

    name: str
    note: str | None = None
    frame: pd.DataFrame | None = None


# --- what the run says ------------------------------------------------------------------------------


def classifier_views(results: list[ClassifierResult]) -> list[ClassifierView]:
    """Every classifier of the aggregate stage's unperturbed ``results`` on the set (in-scheme
    samples); one that did not run keeps its reason as the note."""
    views = []
    for result in results:
        if result.unavailable or result.predictions is None:
            views.append(ClassifierView(result.name, note=result.unavailable or "no predictions"))
            continue
        p = result.predictions
        views.append(ClassifierView(result.name, frame=pd.DataFrame({
            "label": p["label"].to_numpy(), "pred": p["pred"].to_numpy(), "status": p["status"].to_numpy(),
            "confidence": p["confidence"].to_numpy(), "correct": (p["label"] == p["pred"]).to_numpy(),
        }, index=pd.Index(p["sample_id"].astype(str), name="sample_id"))))
    return views


def _shard_groups(frames: list) -> list[tuple[str, Path]]:
    return [(prefix, Path(path)) for prefix, paths in frames for path in paths]


def face_status(frames: list) -> pd.Series:
    """sample_id -> face_status over the frame shards, given as [(sample-id prefix, files)] groups."""
    parts = []
    for prefix, path in _shard_groups(frames):
        table = read_parquet(path, columns=["sample_id", "face_status"])
        parts.append(pd.Series(table["face_status"].astype(str).to_numpy(),
                               index=prefix + table["sample_id"].astype(str)))
    return pd.concat(parts) if parts else pd.Series(dtype=object)


# --- selections -------------------------------------------------------------------------------------


def most_confident_wrong(view: ClassifierView, n: int) -> pd.DataFrame:
    """The ``n`` wrong predictions with the highest confidence (ties: sample id), failures left out."""
    frame = view.frame
    wrong = frame[(frame["status"] == "ok") & ~frame["correct"]]
    wrong = wrong.reset_index().sort_values(["confidence", "sample_id"], ascending=[False, True], kind="stable")
    return wrong.head(n).set_index("sample_id")


def no_face_ids(status: pd.Series, ids) -> list[str]:
    """The samples of ``ids`` whose APEX frame had no face, by sample id."""
    status = status.reindex(list(ids))
    return sorted(status.index[status == "no_face"])


def wrong_by_every(views: list[ClassifierView], status: pd.Series) -> pd.DataFrame:
    """The samples (with a face) that every classifier with predictions got wrong, a failure counting
    as wrong; columns: mean confidence of those predictions, then ``<classifier>`` (prediction) and
    ``<classifier>:confidence``, ordered by mean confidence (descending), then sample id."""
    ran = [v for v in views if v.frame is not None]
    if not ran:
        return pd.DataFrame()
    wrong = None
    for v in ran:
        ids = set(v.frame.index[~v.frame["correct"]])
        wrong = ids if wrong is None else wrong & ids
    with_face = set(status.index[status == "ok"])
    ids = sorted(wrong & with_face)
    out = pd.DataFrame(index=pd.Index(ids, name="sample_id"))
    out["label"] = ran[0].frame["label"].reindex(ids).to_numpy() if ids else []
    for v in ran:
        out[v.name] = v.frame["pred"].reindex(ids).to_numpy()
        out[f"{v.name}:confidence"] = v.frame["confidence"].reindex(ids).to_numpy()
    out["confidence"] = out[[f"{v.name}:confidence" for v in ran]].mean(axis=1) if ids else []
    out = out.reset_index().sort_values(["confidence", "sample_id"], ascending=[False, True], kind="stable")
    return out.set_index("sample_id")


# --- thumbnails -------------------------------------------------------------------------------------


def thumbnail(data: bytes | None, size: int) -> str:
    """A stored PNG/JPEG image re-encoded as JPEG (gray stays one channel) with its longer side at
    most ``size`` pixels (never enlarged), base64; ``""`` when there is no image or it does not
    decode. Always re-encoded, also a JPEG already small enough: FER2013's 48 px faces are 1.9 kB as
    shipped and 0.9 kB at this quality, so passing them through doubled the sample browser."""
    if data is None or not len(data):
        return ""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        return ""
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.dtype != np.uint8:  # 16-bit PNG
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return ""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, JPEG_OPTIONS)
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""


def thumbnails(frames: list, wanted: dict[str, int], frame_size: int | None = None) -> dict[str, tuple[str, str]]:
    """sample_id -> (APEX thumbnail, onset thumbnail) for the samples in ``wanted`` (id -> size): the
    face crop and onset crop where a face was found, else the full APEX frame (at ``frame_size``, by
    default the same size) and no onset. Reads one frame shard at a time, and of it the images of the
    wanted samples only."""
    out: dict[str, tuple[str, str]] = {}
    for prefix, path in _shard_groups(frames):
        table = read_table(path, columns=IMAGE_COLUMNS)
        ids = [prefix + str(sid) for sid in table.column("sample_id").to_pylist()]
        keep = [i for i, sid in enumerate(ids) if sid in wanted]
        if not keep:
            continue
        if len(keep) < len(ids):
            table, ids = table.take(keep), [ids[i] for i in keep]
        cols = table.to_pydict()
        for sid, status, crop, onset, apex in zip(ids, cols["face_status"], cols["face_crop"], cols["onset_crop"],
                                                  cols["apex_jpeg"]):
            size = wanted[sid]
            if status == "ok" and crop is not None:
                out[sid] = (thumbnail(crop, size), thumbnail(onset, size))
            else:
                out[sid] = (thumbnail(apex, frame_size or size), "")
    return out


# --- the gallery ------------------------------------------------------------------------------------


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{_esc(alt)}" src="data:image/jpeg;base64,{b64}">' if b64 else ""


def _thumb_figure(key: str, thumbs: tuple[str, str], sample_id: str, lines: list[str]) -> str:
    apex, onset = thumbs
    images = _img(apex, f"APEX of {sample_id}") + _img(onset, f"onset of {sample_id}")
    if not images:
        return ""
    caption = "<br>".join((["APEX &middot; onset"] if apex and onset else []) + lines
                          + [f"<code>{_esc(sample_id)}</code>"])
    return f'<figure class="thumb" data-figure="{_esc(key)}">{images}<figcaption>{caption}</figcaption></figure>'


def _conf(value) -> str:
    # rounded to 3 decimals first, as the browser's data, so both show the same two decimals
    return "&ndash;" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{round(value, 3):.2f}"


def gallery_section(views: list[ClassifierView], status: pd.Series, samples: pd.DataFrame, n: int,
                    frames: list, a: str, browser_href: str) -> str:
    """The report's error gallery of one set (an HTML fragment; ``a``: the set's anchor prefix)."""
    ran = [v for v in views if v.frame is not None]
    ids = samples["sample_id"].astype(str)
    wrong = {v.name: most_confident_wrong(v, n) for v in ran}
    noface = no_face_ids(status, ids)
    every = wrong_by_every(views, status)
    wanted = {sid: GALLERY_THUMB for w in wrong.values() for sid in w.index}
    wanted.update({sid: GALLERY_THUMB for sid in every.index[:n]})
    wanted.update({sid: FRAME_THUMB for sid in noface[:n]})
    thumbs = thumbnails(frames, wanted) if wanted else {}
    parts = [f"<h3 id='{a}gallery'>Error gallery</h3>",
             f"<p>For each classifier the {n} most confident wrong predictions (confidence = probability of the "
             "predicted class; failures are not in this strip), each as the APEX crop and, where the sample has "
             "one, the onset crop: true label, predicted label, confidence, sample id. Every sample with every "
             f"classifier's prediction: the <a href='{_esc(browser_href)}'>sample browser</a>.</p>"]
    for v in views:
        if v.frame is None:
            parts.append(f"<p class='note'><b>{_esc(v.name)}</b>: {unavailable_status(v.note)}, no gallery.</p>")
            continue
        top = wrong[v.name]
        n_wrong = int(((v.frame["status"] == "ok") & ~v.frame["correct"]).sum())
        head = (f"<h4>{_esc(v.name)}: {n_wrong} wrong of {len(v.frame)} samples"
                + (f"; the {len(top)} most confident</h4>" if n_wrong > len(top) else "</h4>"))
        figures = [_thumb_figure(f"{a}gallery-{v.name}-{i}", thumbs.get(sid, ("", "")), sid,
                                 [f"true <b>{_esc(r.label)}</b>", f"pred <b class='bad'>{_esc(r.pred)}</b> "
                                  f"{_conf(r.confidence)}"])
                   for i, (sid, r) in enumerate(top.iterrows())]
        parts.append(head + (f"<div class='strip'>{''.join(figures)}</div>" if figures
                             else "<p class='note'>No wrong prediction.</p>"))
    parts.append(f"<h4>No face found: {len(noface)} sample(s)"
                 + (f", the first {n}" if len(noface) > n else "") + "</h4>")
    labels = samples.set_index(samples["sample_id"].astype(str))["label_canonical"]
    figures = [_thumb_figure(f"{a}gallery-noface-{i}", thumbs.get(sid, ("", "")), sid,
                             [f"true <b>{_esc(labels.get(sid, ''))}</b>", "full frame"])
               for i, sid in enumerate(noface[:n])]
    parts.append(f"<div class='strip'>{''.join(figures)}</div>" if noface
                 else "<p class='note'>A face was found in every sample.</p>")
    if not ran:
        parts.append("<p class='note'>No classifier produced predictions: no sample is wrong by every one.</p>")
    else:
        names = ", ".join(v.name for v in ran)
        parts.append(f"<h4>Wrong by every classifier with predictions ({_esc(names)}): {len(every)} sample(s)"
                     + (f", the {n} with the most confident predictions" if len(every) > n else "") + "</h4>")
        figures = [_thumb_figure(f"{a}gallery-every-{i}", thumbs.get(sid, ("", "")), sid,
                                 [f"true <b>{_esc(r['label'])}</b>"]
                                 + [f"{_esc(v.name)}: <b class='bad'>{_esc(r[v.name])}</b> "
                                    f"{_conf(r[v.name + ':confidence'])}" for v in ran])
                   for i, (sid, r) in enumerate(every.head(n).iterrows())]
        parts.append(f"<div class='strip'>{''.join(figures)}</div>" if figures
                     else "<p class='note'>Every sample with a face was classified correctly by at least one "
                          "classifier.</p>")
    return "\n".join(parts)


# --- the sample browser -----------------------------------------------------------------------------

BROWSER_CSS = """
#controls{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
#controls label{margin-right:.8em;font-size:.9em}#controls input,#controls select{font-size:.9em}
#samples td{vertical-align:middle;white-space:nowrap}#samples td.thumbs{text-align:left}#samples figure{margin:0 .2em 0 0}
#samples .pair{display:flex;gap:2px}
#samples img{max-width:var(--thumb);max-height:var(--thumb);display:block}
#samples th{cursor:pointer;white-space:nowrap}#samples th.on{background:#dde7f3}
td.ok{background:#eef7ee}td.bad{background:#fbeaea}td.fail{background:#f3f3f3;color:#777}
nav.pager{margin:.6em 0}nav.pager button{margin-right:.5em}
"""

BROWSER_JS = r"""
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('apexbench-data').textContent);
  var body = document.body, C = D.classifiers, P0 = 7, rows = D.rows;
  var DEFAULT = {q: '', label: '', face: '', wrong: '', sort: 'id', dir: 'asc', page: '1'};
  var COLUMNS = {id: 0, subject: 1, source: 2, label: 3, face: 4};
  function el(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function pred(r, j) { return r[P0 + 3 * j]; }
  function conf(r, j) { return r[P0 + 3 * j + 1]; }
  function stat(r, j) { return r[P0 + 3 * j + 2]; }
  function judged(r, j) { return r[3] !== null && stat(r, j) !== null; }
  function wrong(r, j) { return judged(r, j) && pred(r, j) !== r[3]; }

  function readState() {
    var p = new URLSearchParams(location.hash.replace(/^#/, '')), s = {};
    Object.keys(DEFAULT).forEach(function (k) { s[k] = p.has(k) ? p.get(k) : DEFAULT[k]; });
    return s;
  }
  function stateString(s) {
    var p = new URLSearchParams();
    Object.keys(DEFAULT).forEach(function (k) { if (s[k] !== DEFAULT[k]) { p.set(k, s[k]); } });
    return p.toString();
  }
  function matches(r, s) {
    if (s.q) {
      var text = (r[0] + ' ' + r[1] + ' ' + (r[2] || '')).toLowerCase();
      if (text.indexOf(s.q.toLowerCase()) < 0) { return false; }
    }
    if (s.label && (s.label === '*none' ? r[3] !== null : r[3] !== s.label)) { return false; }
    if (s.face && (s.face === 'error' ? String(r[4]).indexOf('error') !== 0 : r[4] !== s.face)) { return false; }
    if (s.wrong === '*any') { return C.some(function (c, j) { return wrong(r, j); }); }
    if (s.wrong === '*every') {
      return C.length > 0 && C.every(function (c, j) { return wrong(r, j); });
    }
    if (s.wrong) { var j = C.indexOf(s.wrong); return j >= 0 && wrong(r, j); }
    return true;
  }
  function sortKey(name) {
    var m = /^(pred|conf):(.*)$/.exec(name);
    if (m) {
      var j = C.indexOf(m[2]);
      if (j < 0) { return function () { return 0; }; }
      if (m[1] === 'conf') { return function (r) { var v = conf(r, j); return v === null ? -1 : v; }; }
      return function (r) { return pred(r, j) === null ? '' : pred(r, j); };
    }
    var col = COLUMNS.hasOwnProperty(name) ? COLUMNS[name] : 0;
    return function (r) { return r[col] === null ? '' : r[col]; };
  }
  function figure(b64, alt, key) {
    return b64 ? '<figure data-figure="' + key + '"><img alt="' + esc(alt) + '" src="data:image/jpeg;base64,' +
      b64 + '"></figure>' : '';
  }
  function rowHtml(r, i) {
    var cells = ['<td class="thumbs"><div class="pair">' + figure(r[5], 'APEX of ' + r[0], 'row' + i + '-apex') +
                 figure(r[6], 'onset of ' + r[0], 'row' + i + '-onset') + '</div></td>',
                 '<td class="l">' + esc(r[0]) + '</td>', '<td class="l">' + esc(r[1]) + '</td>'];
    if (D.sources) { cells.push('<td class="l">' + esc(r[2]) + '</td>'); }
    cells.push('<td class="l">' + (r[3] === null ? '<span class="note">outside the scheme</span>' : esc(r[3])) +
               '</td>', '<td class="l">' + esc(r[4]) + '</td>');
    C.forEach(function (c, j) {
      if (!judged(r, j)) { cells.push('<td class="fail">&ndash;</td>'); return; }
      if (stat(r, j) !== 'ok') { cells.push('<td class="l fail">' + esc(stat(r, j)) + '</td>'); return; }
      cells.push('<td class="l ' + (wrong(r, j) ? 'bad' : 'ok') + '">' + esc(pred(r, j)) +
                 ' <span class="note">' + conf(r, j).toFixed(2) + '</span></td>');
    });
    return '<tr data-id="' + esc(r[0]) + '">' + cells.join('') + '</tr>';
  }
  function render(s) {
    var key = sortKey(s.sort), sign = s.dir === 'desc' ? -1 : 1, picked = [];
    for (var i = 0; i < rows.length; i++) { if (matches(rows[i], s)) { picked.push(i); } }
    var keys = picked.map(function (i) { return key(rows[i]); });
    var order = picked.map(function (_, k) { return k; });
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return picked[a] - picked[b];
    });
    var pages = Math.max(1, Math.ceil(order.length / D.page_size));
    var page = Math.min(Math.max(1, parseInt(s.page, 10) || 1), pages);
    var shown = order.slice((page - 1) * D.page_size, page * D.page_size).map(function (k) { return picked[k]; });
    el('rows').innerHTML = shown.map(function (i) { return rowHtml(rows[i], i); }).join('');
    el('count').textContent = order.length + ' of ' + rows.length + ' samples; page ' + page + ' of ' + pages;
    el('prev').disabled = page <= 1;
    el('next').disabled = page >= pages;
    Array.prototype.forEach.call(document.querySelectorAll('#samples th[data-sort]'), function (th) {
      th.classList.toggle('on', th.getAttribute('data-sort') === s.sort);
    });
    ['q', 'label', 'face', 'wrong', 'sort', 'dir'].forEach(function (k) { el('f-' + k).value = s[k]; });
    body.setAttribute('data-total', String(rows.length));
    body.setAttribute('data-matched', String(order.length));
    body.setAttribute('data-page', page + '/' + pages);
    body.setAttribute('data-state', stateString(s));
    body.setAttribute('data-visible', JSON.stringify(shown.map(function (i) { return rows[i][0]; })));
    body.setAttribute('data-browser', 'ready');
    current = s;
    current.page = String(page);
  }
  function go(change) {
    var s = {};
    Object.keys(DEFAULT).forEach(function (k) { s[k] = current[k]; });
    Object.keys(change).forEach(function (k) { s[k] = change[k]; });
    if (!('page' in change)) { s.page = '1'; }
    history.replaceState(null, '', '#' + stateString(s));
    render(s);
  }
  function options(select, list) {
    select.innerHTML = list.map(function (o) {
      return '<option value="' + esc(o[0]) + '">' + esc(o[1]) + '</option>';
    }).join('');
  }

  var current = DEFAULT;
  options(el('f-label'), [['', 'any']].concat(D.labels.map(function (l) { return [l, l]; }))
    .concat(D.outside ? [['*none', 'outside the scheme']] : []));
  options(el('f-face'), [['', 'any'], ['ok', 'ok'], ['no_face', 'no_face'], ['error', 'error']]);
  options(el('f-wrong'), [['', 'no filter'], ['*any', 'any classifier'], ['*every', 'every classifier']]
    .concat(C.map(function (c) { return [c, c]; })));
  var sorts = [['id', 'sample id'], ['subject', 'subject']].concat(D.sources ? [['source', 'source dataset']] : [])
    .concat([['label', 'label'], ['face', 'face status']]);
  C.forEach(function (c) { sorts.push(['pred:' + c, c + ': prediction'], ['conf:' + c, c + ': confidence']); });
  options(el('f-sort'), sorts);
  options(el('f-dir'), [['asc', 'ascending'], ['desc', 'descending']]);
  var timer = null;
  el('f-q').addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { go({q: el('f-q').value}); }, 200);
  });
  ['label', 'face', 'wrong', 'sort', 'dir'].forEach(function (k) {
    el('f-' + k).addEventListener('change', function () { var c = {}; c[k] = el('f-' + k).value; go(c); });
  });
  el('prev').addEventListener('click', function () { go({page: String(parseInt(current.page, 10) - 1)}); });
  el('next').addEventListener('click', function () { go({page: String(parseInt(current.page, 10) + 1)}); });
  Array.prototype.forEach.call(document.querySelectorAll('#samples th[data-sort]'), function (th) {
    th.addEventListener('click', function () {
      var name = th.getAttribute('data-sort');
      var desc = name === current.sort ? current.dir !== 'desc' : name.indexOf('conf:') === 0;
      go({sort: name, dir: desc ? 'desc' : 'asc'});
    });
  });
  window.addEventListener('hashchange', function () { render(readState()); });
  render(readState());
  body.setAttribute('data-ready-ms', String(Math.round(performance.now())));  // first page shown
})();
"""


def browser_rows(samples: pd.DataFrame, views: list[ClassifierView], status: pd.Series, scheme: str,
                 thumbs: dict[str, tuple[str, str]]) -> list[list]:
    """One compact row per sample: id, subject, source dataset, scheme label (None: outside the scheme),
    face status, APEX and onset thumbnails (base64 JPEG), then per classifier with predictions
    (prediction, confidence, status); a sample outside the scheme has None for all three."""
    ran = [v for v in views if v.frame is not None]
    cols = {v.name: (v.frame["pred"].to_dict(), v.frame["confidence"].to_dict(), v.frame["status"].to_dict())
            for v in ran}
    source = samples[SOURCE_COLUMN].astype(str) if SOURCE_COLUMN in samples else pd.Series("", index=samples.index)
    status = status.to_dict()  # a dict lookup per sample, not a pandas one
    labels = {c: scheme_label(c, scheme) for c in set(samples["label_canonical"])}
    rows = []
    for sid, subject, src, canonical in zip(samples["sample_id"].astype(str), samples["subject"].astype(str),
                                            source, samples["label_canonical"]):
        label = labels[canonical]
        apex, onset = thumbs.get(sid, ("", ""))
        row = [sid, subject, src, label, str(status.get(sid, "")), apex, onset]
        for v in ran:
            preds, confs, stats = cols[v.name]
            if sid not in stats:
                row += [None, None, None]
                continue
            ok = stats[sid] == "ok"
            row += [str(preds[sid]) if ok else "", round(float(confs[sid]), 3) if ok else None, str(stats[sid])]
        rows.append(row)
    return rows


def browser_page(info: dict, samples: pd.DataFrame, views: list[ClassifierView], status: pd.Series,
                 thumbs: dict[str, tuple[str, str]], page_size: int, thumb: int) -> str:
    """The whole sample browser page of one set (see the module docstring)."""
    name, scheme = info["name"], info["scheme"]
    samples = samples.sort_values("sample_id", kind="stable")
    rows = browser_rows(samples, views, status, scheme, thumbs)
    ran = [v.name for v in views if v.frame is not None]
    sources = SOURCE_COLUMN in samples
    data = {"set": name, "scheme": scheme, "labels": list(SCHEMES[scheme]), "classifiers": ran,
            "sources": sources, "outside": any(r[3] is None for r in rows), "page_size": page_size, "rows": rows}
    # JSON inside <script>: no "</" may close it early.
    payload = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    head = ["<th class='l'>APEX &middot; onset</th>", "<th class='l' data-sort='id'>sample</th>", "<th class='l' data-sort='subject'>subject</th>"]
    if sources:
        head.append("<th class='l' data-sort='source'>source</th>")
    head += ["<th class='l' data-sort='label'>label</th>", "<th class='l' data-sort='face'>face</th>"]
    head += [f"<th class='l' data-sort='conf:{_esc(c)}' title='click: sort by confidence'>{_esc(c)}</th>" for c in ran]
    absent = [f"<b title='{_esc(v.note)}'>{_esc(v.name)}</b> "
              f"({unavailable_status(v.note)})"
              for v in views if v.frame is None]
    notes = (f"<p class='note'>No predictions from {', '.join(absent)}: the reasons and fixes are in the report "
             "(hover a name for its reason).</p>" if absent else "")
    n_face = int((status.reindex(samples["sample_id"].astype(str)) == "ok").sum())
    body = (
        f"<h1>apexbench: samples of {_esc(name)}</h1>"
        f"<p class='note'>{len(rows)} validated samples ({n_face} with a face), label scheme <code>{_esc(scheme)}</code>; "
        "thumbnails: the APEX and onset face crops (the full APEX frame where no face was found). A prediction is "
        "green when right, red when wrong; its number is the confidence (probability of the predicted class). "
        "&ldquo;Wrong by&rdquo; counts a failure (no face, no prediction) as wrong, as the metrics do. Click a "
        "column head to sort. The view is kept in the address (e.g. <code>#wrong=&lt;classifier&gt;&amp;sort=conf:"
        "&lt;classifier&gt;&amp;dir=desc</code>), so it can be bookmarked or shared. "
        f"Back to the <a href='report.html'>report of {_esc(name)}</a> or the "
        "<a href='../report/index.html'>run's report</a>.</p>" + notes +
        "<form id='controls' onsubmit='return false'>"
        "<label>search <input id='f-q' type='search' placeholder='id, subject'></label>"
        "<label>label <select id='f-label'></select></label>"
        "<label>face <select id='f-face'></select></label>"
        "<label>wrong by <select id='f-wrong'></select></label>"
        "<label>sort <select id='f-sort'></select></label>"
        "<label><select id='f-dir'></select></label>"
        "<button type='button' id='prev'>&larr; previous</button><button type='button' id='next'>next &rarr;"
        "</button> <span id='count' class='note'></span></form>"
        f"<table id='samples'><thead><tr>{''.join(head)}</tr></thead><tbody id='rows'></tbody></table>"
        f"<script type='application/json' id='apexbench-data'>{payload}</script>"
        f"<script>{BROWSER_JS}</script>"
    )
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>apexbench: samples of {_esc(name)}</title><style>{CSS}{BROWSER_CSS}"
            f":root{{--thumb:{int(thumb)}px}}</style></head>"
            # The check script comes first so that it also sees an error in the browser's own script.
            f"<body data-browser='pending'>{CHECK_SCRIPT}\n{body}</body></html>\n")


# --- one set: both ------------------------------------------------------------------------------------


def write_set_views(samples_path: str | Path, info: dict, results: list[ClassifierResult], frames: list,
                    settings: dict, browser_out: str | Path, anchor: str, log=None) -> str:
    """Write the sample browser of one set to ``browser_out`` and return its gallery section.

    ``samples_path``: the set's sample table; ``results``: what ``aggregate.aggregate_set`` returned
    for the set (the unperturbed evaluation of every classifier); ``frames``: [(sample-id prefix,
    frame shards)] of the set's datasets; ``settings``: the ``report`` config (``gallery``,
    ``browser_page``, ``browser_thumb``)."""
    settings = {**DEFAULTS, **(settings or {})}
    samples = read_parquet(samples_path)
    samples = samples.assign(sample_id=samples["sample_id"].astype(str))
    views = classifier_views(results)
    status = face_status(frames)
    wanted = dict.fromkeys(samples["sample_id"], settings["browser_thumb"])
    page = browser_page(info, samples, views, status, thumbnails(frames, wanted), settings["browser_page"],
                        settings["browser_thumb"])
    write_text(page, browser_out)
    if log is not None:
        print(f"[browser] {info['name']}: {len(samples)} samples, {len(page.encode()) / 1e6:.1f} MB -> {browser_out}",
              file=log)
    href = f"../{info['name']}/samples.html"
    return gallery_section(views, status, samples, settings["gallery"], frames, anchor, href)
