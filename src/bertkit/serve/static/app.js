// The explorer page: plain DOM and canvas, no build step, nothing loaded from outside this server.
"use strict";

const $ = (id) => document.getElementById(id);
let health = null;
let textVersion = 0; // answers to an older text than the one in the box are dropped

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

const available = (endpoint) => health && !(endpoint in health.model.unavailable);
const SPECIAL = /^\[(CLS|SEP|PAD|UNK|MASK)\]$/;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- the page's language: English, or Chinese with ?lang=zh ---------------------------------------------------

const LANG = new URLSearchParams(location.search).get("lang") === "zh" ? "zh" : "en";

// The static labels in Chinese, by their data-i18n key (English is in index.html); trusted constants, some with
// markup. The terms are the tutorial's (docs/tutorial.zh.md).
const PAGE_ZH = {
  title: "bertkit 模型浏览器",
  guide: "初次接触 BERT？页面上每一栏都对应教程中的一步：",
  text: "文本",
  "text-help": "输入一句话，在想让模型猜的位置写上 <code>[MASK]</code>。",
  "top-k": "候选数",
  analyse: "分析",
  tokens: "WordPiece 词元",
  "fill-mask": "填空",
  "no-mask": "文本里没有 [MASK]。",
  classify: "分类",
  score: "概率",
  "score-help":
    "模型认为一句话里每个词元有多大可能：因果语言模型给出 P(词元 | 前文)，连乘就是整句的概率；填空模型给出 " +
    "P(词元 | 其余部分，该词元被遮住)，即伪对数似然的各项。颜色越深，概率越高；鼠标指向或点击某个词元，可以看到模型" +
    "认为这个位置上更可能是什么。",
  model: "模型",
  "score-button": "打分",
  attention: "自注意力",
  "attention-help":
    "一个头的 softmax(QK<sup>T</sup>/√d<sub>k</sub>)：行是发出注意的词元，列是被注意的词元。",
  layer: "层",
  head: "头",
  similarity: "相似度",
  "similarity-help":
    "输入几个词或短句，用逗号隔开；显示它们句向量（嵌入）之间的余弦相似度（按检查点的设定池化：普通 BERT " +
    "取各词元向量的平均）。",
  compare: "比较",
  recite: "背诗",
  "recite-help": "因果语言模型从一首诗的头几个字往下背。",
  sample: "采样",
  "recite-button": "背诵",
  steps: "逐步背诵",
  "steps-help":
    "懒学生每一步的选择：下一个字的候选及其概率，取概率最高的那个。点击别的候选字，可以改选它。",
  step: "下一步",
  "step-reset": "重新开始",
};

// The labels the page writes as it goes, in each language.
const WORDS = {
  en: {
    modelInfo: (m) =>
      `${m.architecture}: ${m.layers} layers, ${m.heads} heads, hidden ${m.hidden_size}, ` +
      `${m.vocab_size} tokens` + (m.lm ? "; a causal LM to recite with" : ""),
    noMask: "No [MASK] in the text.",
    labels: "labels",
    darkest: (top) => `darkest = ${top}`,
    causalSummary: (logP, ppl) =>
      `log P = ${logP} · perplexity ${ppl} · the causal LM: P(token | the tokens before it)`,
    clozeSummary: (pll, ppl, kind) =>
      `PLL = ${pll} · pseudo-perplexity ${ppl} · the cloze model: P(token | the rest, it masked), ${kind}`,
    inPlaceOf: (token, p) => `in place of ${token} (${p}), the model's first choices`,
    notSingle: (splits) => "Not single tokens: " + splits.join("; "),
    step: (i) => `step ${i}`,
    end: " (the end)",
    scorers: { lm: "causal LM (--lm)", cloze: "cloze model (--model)" },
    guide: { href: "/tutorial", text: "docs/tutorial.md" },
    other: { href: "?lang=zh", text: "中文" },
  },
  zh: {
    modelInfo: (m) =>
      `${m.architecture}：${m.layers} 层，${m.heads} 个头，隐藏维度 ${m.hidden_size}，词表 ${m.vocab_size} 个词元` +
      (m.lm ? "；另有一个用来背诗的因果语言模型" : ""),
    noMask: "文本里没有 [MASK]。",
    labels: "标签",
    darkest: (top) => `最深 = ${top}`,
    causalSummary: (logP, ppl) => `log P = ${logP} · 困惑度 ${ppl} · 因果语言模型：P(词元 | 前文)`,
    clozeSummary: (pll, ppl, kind) =>
      `PLL = ${pll} · 伪困惑度 ${ppl} · 填空模型：P(词元 | 其余部分，该词元被遮住)，${kind}`,
    inPlaceOf: (token, p) => `${token}（${p}）这个位置上，模型的首选`,
    notSingle: (splits) => "不是单个词元：" + splits.join("；"),
    step: (i) => `第 ${i} 步`,
    end: "（完）",
    scorers: { lm: "因果语言模型（--lm）", cloze: "填空模型（--model）" },
    guide: { href: "/tutorial?lang=zh", text: "docs/tutorial.zh.md" },
    other: { href: "?", text: "English" },
  },
};
const T = WORDS[LANG];

function translatePage() {
  const link = (id, { href, text }) => {
    $(id).href = href;
    $(id).textContent = text;
  };
  link("guide", T.guide);
  link("lang-switch", T.other);
  if (LANG === "en") return;
  document.documentElement.lang = "zh-CN";
  document.title = PAGE_ZH.title;
  $("model-info").textContent = "正在加载模型…";
  for (const node of document.querySelectorAll("[data-i18n]")) node.innerHTML = PAGE_ZH[node.dataset.i18n];
}

// --- text: tokens, fill-mask, classification ---------------------------------------------------------------

function renderTokens(answer) {
  const box = $("tokens");
  box.replaceChildren();
  answer.tokens.forEach((token, i) => {
    const special = SPECIAL.test(token);
    const node = element("span", "token" + (special ? " special" : "") + (token === "[MASK]" ? " mask" : ""));
    node.append(element("span", "piece", token), element("span", "id", String(answer.ids[i])));
    box.append(node);
  });
}

// a ranked token or label: its text, a bar as long as its probability, the probability
function candidateRow(c) {
  const row = element("div", "candidate");
  const bar = element("div", "bar");
  bar.style.width = `${Math.max(1, Math.round(c.score * 100))}%`;
  row.append(element("span", "piece", c.token_str ?? c.label), bar, element("span", "score", c.score.toFixed(3)));
  return row;
}

function renderCandidates(box, lists, title) {
  box.replaceChildren();
  lists.forEach((candidates, i) => {
    const column = element("div", "mask-column");
    column.append(element("h3", null, title(i)), ...candidates.map(candidateRow));
    box.append(column);
  });
}

async function analyse() {
  const version = ++textVersion;
  const text = $("text").value;
  $("text-error").textContent = "";
  if (!text.trim()) return;
  try {
    const tokens = await api("/api/tokenize", { text });
    if (version !== textVersion) return;
    renderTokens(tokens);
    const jobs = [drawAttention()];
    if (available("fill-mask")) jobs.push(fillMask(text, tokens, version));
    if (available("classify")) jobs.push(classify(text, version));
    await Promise.all(jobs);
  } catch (err) {
    if (version === textVersion) $("text-error").textContent = err.message;
  }
}

async function fillMask(text, tokens, version) {
  const box = $("predictions");
  if (!tokens.tokens.includes("[MASK]")) {
    box.replaceChildren(element("p", "muted", T.noMask));
    return;
  }
  const answer = await api("/api/fill-mask", { text, top_k: Number($("top-k").value) || 5 });
  if (version === textVersion) renderCandidates(box, answer.masks, (i) => `[MASK] ${i + 1}`);
}

async function classify(text, version) {
  const answer = await api("/api/classify", { text });
  if (version === textVersion) renderCandidates($("labels"), [answer.labels], () => T.labels);
}

// --- attention heatmap ----------------------------------------------------------------------------------------

function canvasFont(size) {
  return `${size}px ${getComputedStyle(document.body).fontFamily}`;
}

function heatColour(t) {
  // white (0) to the accent blue (1)
  t = Math.min(1, Math.max(0, t));
  const mix = (a, b) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 37)}, ${mix(255, 84)}, ${mix(255, 199)})`;
}

async function drawAttention() {
  const text = $("text").value;
  const layer = Number($("layer").value);
  const head = Number($("head").value);
  const answer = await api("/api/attention", { text, layer, head });
  if (text !== $("text").value || layer !== Number($("layer").value) || head !== Number($("head").value)) return;
  const canvas = $("attention");
  const ctx = canvas.getContext("2d");
  const tokens = answer.tokens;
  const n = tokens.length;
  const margin = 70;
  const cell = Math.max(4, Math.min(32, Math.floor(560 / n)));
  canvas.width = canvas.height = margin + cell * n + 4;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  // colours scaled to this head's largest weight: a head that spreads its attention thinly still shows a pattern
  const top = Math.max(1e-6, ...answer.weights.flat());
  $("attention-scale").textContent = T.darkest(top.toFixed(3));
  answer.weights.forEach((row, i) =>
    row.forEach((w, j) => {
      ctx.fillStyle = heatColour(w / top);
      ctx.fillRect(margin + j * cell, margin + i * cell, cell, cell);
    }),
  );
  ctx.fillStyle = "#1d2430";
  ctx.font = canvasFont(Math.min(14, Math.max(8, cell - 4)));
  ctx.textBaseline = "middle";
  tokens.forEach((token, i) => {
    const label = token.length > 8 ? token.slice(0, 7) + "…" : token;
    ctx.textAlign = "right";
    ctx.fillText(label, margin - 4, margin + (i + 0.5) * cell);
    ctx.save();
    ctx.translate(margin + (i + 0.5) * cell, margin - 4);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "left";
    ctx.fillText(label, 0, 0);
    ctx.restore();
  });
  canvas.dataset.layer = String(layer);
  canvas.dataset.head = String(head);
}

// --- probabilities: each token shaded by how likely the model finds it -----------------------------------------

let scoreVersion = 0;
let pinned = null; // the token whose alternatives stay shown when the pointer leaves the tokens

function formatProbability(p) {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

// a perplexity can be astronomical on a line the model never saw
const formatTotal = (x) => (Math.abs(x) < 1e5 ? x.toFixed(2) : x.toExponential(2));

function showAlternatives(answer, i) {
  const box = $("score-alternatives");
  const token = answer.tokens[i];
  const p = Math.exp(answer.token_log_probs[i]);
  const heading = T.inPlaceOf(token, formatProbability(p));
  box.replaceChildren(element("h3", null, heading));
  const column = element("div", "mask-column");
  for (const c of answer.alternatives[i]) {
    const row = candidateRow(c);
    if (c.token_str === token) row.classList.add("chosen");
    column.append(row);
  }
  box.append(column);
  box.dataset.token = String(i);
}

function renderScore(answer) {
  const [total, perplexity] = [formatTotal(answer.log_prob), formatTotal(answer.perplexity)];
  $("score-summary").textContent = answer.causal
    ? T.causalSummary(total, perplexity)
    : T.clozeSummary(total, perplexity, answer.pll);
  const box = $("score-tokens");
  box.replaceChildren();
  $("score-alternatives").replaceChildren();
  pinned = null;
  answer.tokens.forEach((token, i) => {
    const p = Math.exp(answer.token_log_probs[i]);
    const special = SPECIAL.test(token);
    const node = element("span", "token scored" + (special ? " special" : ""));
    node.tabIndex = 0;
    node.dataset.probability = String(p);
    node.style.background = heatColour(p);
    node.style.color = p > 0.6 ? "#fff" : "";
    node.append(element("span", "piece", token), element("span", "id", formatProbability(p)));
    node.addEventListener("mouseenter", () => showAlternatives(answer, i));
    node.addEventListener("focus", () => showAlternatives(answer, i));
    node.addEventListener("click", () => {
      for (const other of box.querySelectorAll(".selected")) other.classList.remove("selected");
      node.classList.add("selected");
      pinned = i;
      showAlternatives(answer, i);
    });
    box.append(node);
  });
  box.onmouseleave = () => {
    if (pinned !== null) showAlternatives(answer, pinned);
  };
}

async function scoreText() {
  const version = ++scoreVersion;
  const text = $("score-text").value;
  $("score-error").textContent = "";
  if (!text.trim()) return;
  try {
    const body = { text, model: $("score-model").value, top_k: Number($("top-k").value) || 5 };
    const answer = await api("/api/score", body);
    if (version === scoreVersion) renderScore(answer);
  } catch (err) {
    if (version === scoreVersion) $("score-error").textContent = err.message;
  }
}

// --- similarity -----------------------------------------------------------------------------------------------

async function compare() {
  $("similarity-error").textContent = "";
  $("similarity-pieces").textContent = "";
  const words = $("words").value.split(/[,，]/).map((w) => w.trim()).filter(Boolean);
  try {
    const answer = await api("/api/similarity", { words });
    const table = $("similarity");
    table.replaceChildren();
    const header = element("tr");
    header.append(element("th"), ...answer.words.map((w) => element("th", null, w)));
    table.append(header);
    // colours span the smallest to the largest similarity off the diagonal, where the differences are
    const off = answer.matrix.flatMap((row, i) => row.filter((_, j) => j !== i));
    const low = Math.min(...off, 1);
    const span = Math.max(1e-6, Math.max(...off, low) - low);
    answer.matrix.forEach((row, i) => {
      const tr = element("tr");
      tr.append(element("th", null, answer.words[i]));
      for (const value of row) {
        const t = (value - low) / span;
        const td = element("td", null, value.toFixed(2));
        td.style.background = heatColour(t);
        td.style.color = t > 0.6 ? "#fff" : "#1d2430";
        tr.append(td);
      }
      table.append(tr);
    });
    // words the vocabulary lacks: how they were split, so a similarity of two [UNK]s is not taken for meaning
    const split = answer.words
      .map((w, i) => [w, answer.pieces[i]])
      .filter(([w, pieces]) => pieces.length !== 1 || pieces[0] === "[UNK]")
      .map(([w, pieces]) => `${w} → ${pieces.join(" ")}`);
    $("similarity-pieces").textContent = split.length ? T.notSingle(split) : "";
  } catch (err) {
    $("similarity-error").textContent = err.message;
  }
}

// --- recite ---------------------------------------------------------------------------------------------------

async function reciteText() {
  $("recite-error").textContent = "";
  const button = $("recite");
  button.disabled = true;
  try {
    const body = { prompt: $("prompt").value, do_sample: $("sample").checked };
    if (body.do_sample) body.seed = Math.floor(Math.random() * 1e9);
    $("recital").textContent = (await api("/api/recite", body)).text;
  } catch (err) {
    $("recite-error").textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

// --- step by step: the candidates at each step, then the choice -----------------------------------------------

let steps = []; // per step: {candidates, chosen (an index into candidates)}
let stepPrompt = null;
const CJK = /[\u2e80-\uffff]/;

// a WordPiece appended to a text as the tokenizer would read them back: "##" glues, CJK and punctuation need
// no space, words do
function appendPiece(text, piece) {
  if (piece.startsWith("##")) return text + piece.slice(2);
  if (!text || CJK.test(piece) || CJK.test(text.slice(-1)) || /^[^\w]$/.test(piece)) return text + piece;
  return `${text} ${piece}`;
}

const chosenPieces = () => steps.map((s) => s.candidates[s.chosen].token_str);
const ended = () => chosenPieces().includes("[SEP]");

function renderSteps() {
  const stepped = $("stepped");
  stepped.replaceChildren(document.createTextNode(stepPrompt ?? ""));
  for (const piece of chosenPieces()) {
    const end = piece === "[SEP]";
    stepped.append(element("span", end ? "stepped end" : "stepped", end ? T.end : piece));
  }
  const box = $("steps");
  box.replaceChildren();
  steps.forEach((step, i) => {
    const column = element("div", "mask-column");
    column.append(element("h3", null, T.step(i + 1)));
    step.candidates.forEach((c, j) => {
      const row = candidateRow(c);
      if (j === step.chosen) row.classList.add("chosen");
      row.addEventListener("click", () => {
        steps = steps.slice(0, i + 1);
        steps[i].chosen = j;
        renderSteps();
      });
      column.append(row);
    });
    box.append(column);
  });
  $("step").disabled = ended();
}

async function step() {
  $("step-error").textContent = "";
  if (stepPrompt !== $("prompt").value) {
    stepPrompt = $("prompt").value;
    steps = [];
  }
  const text = chosenPieces().reduce(appendPiece, stepPrompt);
  const button = $("step");
  button.disabled = true;
  try {
    const answer = await api("/api/next-token", { text, top_k: Number($("top-k").value) || 5 });
    steps.push({ candidates: answer.candidates, chosen: 0 });
  } catch (err) {
    $("step-error").textContent = err.message;
  } finally {
    renderSteps();
  }
}

function resetSteps() {
  steps = [];
  stepPrompt = $("prompt").value;
  $("step-error").textContent = "";
  renderSteps();
}

// --- start ----------------------------------------------------------------------------------------------------

function fillSelect(select, count) {
  select.replaceChildren(...Array.from({ length: count }, (_, i) => element("option", null, String(i))));
  select.value = "0";
}

async function start() {
  translatePage();
  health = await (await fetch("/health")).json();
  const m = health.model;
  $("model-info").textContent = T.modelInfo(m);
  fillSelect($("layer"), m.layers);
  fillSelect($("head"), m.heads);
  for (const part of document.querySelectorAll("[data-endpoint]")) {
    part.hidden = !available(part.dataset.endpoint);
  }
  $("score-model").replaceChildren(...m.scorers.map((name) => {
    const option = element("option", null, T.scorers[name]);
    option.value = name;
    return option;
  }));
  let timer = null;
  $("text").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(analyse, 250);
  });
  $("analyse").addEventListener("click", analyse);
  $("top-k").addEventListener("change", analyse);
  for (const id of ["layer", "head"]) {
    $(id).addEventListener("change", () => drawAttention().catch((e) => ($("text-error").textContent = e.message)));
  }
  $("compare").addEventListener("click", compare);
  $("recite").addEventListener("click", reciteText);
  let scoreTimer = null;
  $("score-text").addEventListener("input", () => {
    clearTimeout(scoreTimer);
    scoreTimer = setTimeout(scoreText, 250);
  });
  $("score").addEventListener("click", scoreText);
  $("score-model").addEventListener("change", scoreText);
  $("step").addEventListener("click", step);
  $("step-reset").addEventListener("click", resetSteps);
  document.body.dataset.ready = "true";
  const jobs = [analyse(), compare()];
  if (available("score")) jobs.push(scoreText());
  await Promise.all(jobs);
}

start();
