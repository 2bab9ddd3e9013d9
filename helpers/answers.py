"""Map a model's free-text reply to one of the candidate labels.

Real models rarely answer with the bare label: "这条新闻属于科技类。",
"**Category:** hockey", "不是财经新闻，而是科技新闻", a JSON object, or an
echo of the text before the answer. ``parse_label`` applies these rules, in
this order, and never raises on any reply:

1. Normalisation (``fold``): NFKC (full-width forms), case-folding, emoji
   variation selectors dropped. Labels are matched whole, as the prompt lists
   them: a label's spaces match any run of whitespace, a space after
   punctuation is optional ("Business,Finance" is "Business, Finance").
2. Exact: a reply that is a label or an alias once quotes, markdown and
   punctuation around it are trimmed wins.
3. JSON: a JSON object in the reply (``{"label": "体育"}``, also inside a code
   fence) whose ``label``/``category``/``class``/``answer``/``类别``/… value (or
   only string value) names a label decides.
4. Otherwise every mention of every label and alias is found, and
   - a mention inside a longer mention is dropped ("科技" inside "科技新闻");
   - Latin-script labels must stand as words ("car" is not in "scary"; a
     plural "s"/"es" is allowed); CJK labels match anywhere;
   - mentions inside an echo of the classified ``text`` don't count (an echo
     is a run of at least 6 CJK / 20 other non-space characters that also
     occurs in ``text``), nor inside an echo of the label list ("- a\\n- b",
     "the categories are ...");
   - negated mentions don't count: "不是X", "并非X", "而不是X", "不属于X",
     "not X", "isn't X", "rather than X", "instead of X", "与X无关" (a
     contrast word — "而是", "but", "actually" — ends a negation's reach);
   - hedged mentions ("可能", "也可以", "或", "could", "might", "also",
     "or") rank below the others.
5. The winner: the last mention after a concluding marker ("最终答案",
   "因此", "so the answer is", "therefore"); else the first after an answer
   marker or a stated preference ("类别：", "答案是", "The answer is:",
   "Category:", "I'd say", "更像是", "主要是", "but it's", "而是"); else the
   first plain mention; else the first hedged one. At the same position the
   longer mention wins.
6. Anything else (empty, not a string, only negated or echoed mentions) is
   ``UNKNOWN``.

``aliases`` maps a label to the other names a model may use for it
(``{"国际": ["世界", "国际新闻"]}``; a single string is one alias). Aliases of
labels not in ``labels`` are ignored, and so are aliases that equal a label or
belong to two labels (they cannot decide).

Hand-written because no maintained library does label matching for free text.
The normaliser ``fold`` is the course's one NFKC/case-fold helper for labels.
"""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

UNKNOWN = "unknown"
_TRIM = " \t\r\n\"'`“”‘’「」『』《》<>()（）[]【】.,;:!?。，；：！？、*_-#>~=|"
_VARIATION_SELECTORS = dict.fromkeys(map(ord, "\ufe0e\ufe0f"), None)
_WORD = "0-9a-z\u00b5\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_IS_WORD = re.compile(f"[{_WORD}]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MASK = "\x00"  # stands in for label mentions while reading their context
JSON_KEYS = ("label", "category", "class", "answer", "classification", "prediction", "result",
             "output", "topic", "类别", "标签", "分类", "答案", "类型", "结果")


def fold(text: str) -> str:
    """NFKC, case-folded, without emoji variation selectors."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_VARIATION_SELECTORS)


def label_key(label: str) -> str:
    """What two labels must differ in to be told apart in a reply."""
    key = re.sub(r"\s+", " ", fold(label)).strip()
    return re.sub(r"(?<=[^\w\s]) ", "", key)


# --------------------------------------------------------------- patterns
def _label_regex(needle: str) -> str:
    """A label (folded, single-spaced) as a regex: spaces match any whitespace,
    a space after punctuation is optional, and so is one where the label has none."""
    parts = []
    for i, c in enumerate(needle):
        prev, nxt = needle[i - 1] if i else "", needle[i + 1] if i + 1 < len(needle) else ""
        if c == " ":
            parts.append(r"\s*" if not prev.isalnum() else r"\s+")
            continue
        parts.append(re.escape(c))
        if not c.isalnum() and nxt and nxt != " ":
            parts.append(r"\s*")
    body = "".join(parts)
    if _IS_WORD.match(needle[0]):
        body = rf"(?<![{_WORD}])" + body
    if _IS_WORD.match(needle[-1]):
        plural = r"(?:e?s)?" if needle[-1].isascii() and needle[-1].isalpha() else ""
        body = body + plural + rf"(?![{_WORD}])"
    return body


def _normalise_aliases(labels: tuple, aliases) -> tuple:
    """((alias, label), ...) usable for matching."""
    if not aliases:
        return ()
    if not hasattr(aliases, "items"):
        raise TypeError("aliases maps a label to its aliases, e.g. {'国际': ['世界', '国际新闻']}")
    label_keys = {label_key(lab) for lab in labels}
    owners: dict[str, set] = {}
    names: dict[str, str] = {}
    for label, names_for in aliases.items():
        if label not in labels:
            continue
        for alias in [names_for] if isinstance(names_for, str) else list(names_for or ()):
            if not isinstance(alias, str) or not alias.strip():
                continue
            key = label_key(alias)
            if key in label_keys:
                continue
            owners.setdefault(key, set()).add(label)
            names.setdefault(key, alias)
    return tuple((names[k], next(iter(v))) for k, v in owners.items() if len(v) == 1)


@lru_cache(maxsize=256)
def _matcher(labels: tuple, alias_pairs: tuple):
    """(exact {trimmed key: label}, [(label, pattern)], for labels then aliases)."""
    exact: dict[str, str] = {}
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for name, label in [(lab, lab) for lab in labels] + list(alias_pairs):
        key = label_key(name)
        trimmed = key.strip(_TRIM) or key
        if trimmed:
            exact.setdefault(trimmed, label)
        needle = re.sub(r"\s+", " ", fold(name)).strip()
        if needle:
            compiled.append((label, re.compile(_label_regex(needle))))
    return exact, compiled


# ----------------------------------------------------------------- cues
def _words(*alts: str) -> str:
    """Alternatives, where an apostrophe also matches a typographic one."""
    return "|".join(a.replace("'", "['’]") for a in alts)


_BOUNDARY = re.compile(r"[，。；！？：,.;!?:\n]")
_CONTRAST = re.compile(_words(r"\bbut\b", r"\bhowever\b", r"\bactually\b", r"\brather\b(?! than)",
                              r"\binstead\b(?! of)", r"\byet\b", "但是", "但", "不过", "然而",
                              "而是", "其实", "实际上"))
_NEG_PRE = re.compile(_words(
    r"\bnot\b(?! sure| certain| entirely| 100%)", r"n't\b(?! sure| certain)", r"\bnever\b",
    r"\bneither\b", r"\bnor\b", r"\brather than\b", r"\binstead of\b", r"\bother than\b",
    r"\bunrelated to\b", r"\bnothing to do with\b", r"\bexcept\b", r"\bunlike\b", r"\bno longer\b",
    "不是", "并非", "而非", "不属于", "不算", "不应", "不该", "不像", "不太像", "排除", "不可能是",
    "非(?=\x00)"))
_NEG_POST = re.compile(r"^[\s\"'“”‘’「」『』*_]*(?:的)?(?:类|新闻|内容|类别|话题|方面)?\s*"
                       r"(?:无关|不相关|不符|除外|无涉|is wrong|is incorrect)")
_HEDGE = re.compile(_words(
    "(?<![最更有])可能", "也许", "或许", "似乎", "看似", "以为", "不确定", "也可以", "也可",
    "也涉及",
    "也有", "也算", "也属于", "也与", "如果", "若是", "假如", "或者", "或", "还是", "次要",
    r"\bmight\b", r"\bcould\b", r"\bmay\b", r"\bpossibly\b", r"\bperhaps\b", r"\bmaybe\b",
    r"\balso\b", r"\bor\b", r"\bif\b", r"\bat first\b", r"\balternatively\b", r"\bsecondary\b",
    r"\bsome\b", r"\bpartly\b", r"\bseems?\b", r"\bnot sure\b", r"n't sure\b", r"\bnot certain\b"))
_FILL = r"[\s\"'`“”‘’「」『』《》()（）\[\]【】*_:：=\-–—>,，#]*"
_COPULA = ("(?:(?:" + _words(r"\bit's\b", r"\bit is\b", r"\bthis is\b", r"\bthat's\b",
                             r"\bthat is\b",
                            r"\bthe text is\b", r"\bis\b", r"\bare\b", r"\bwas\b", r"\bwould be\b",
                            r"\bbe\b", r"\babout\b", r"\ba\b", r"\ban\b", r"\bthe\b", r"\bone of\b",
                            "应该是", "应为", "是", "为", "属于", "归为", "一条", "一篇", "一个",
                             "关于",
                            "个") + ")" + _FILL + ")*")
_ANSWER_WORD = _words("类别", "分类", "类型", "答案", "结果", "标签", "归类", r"\bcategory",
                      r"\bclass",
                      r"\blabel", r"\banswer", r"\bclassification", r"\btopic", r"\bprediction")
_CONNECT = _words("应该是", "应当是", "应是", "应为", "可以是", "是", "为", "属于", "归为", ":",
                  "：", "=",
                  "->", "=>", r"\bis\b", r"\bwould be\b", r"\bshould be\b", r"\bwill be\b", "-",
                  "–", "—")
_PREFER = _words("更像是", "更像", "更接近", "更倾向于", "更倾向", "主要是", "主要属于", "主要讲",
                 "最可能是", "最有可能是", "更可能是", "应该是", "认为是", "觉得是", "我选择",
                 "我选",
                 r"\bi'd say\b", r"\bi would say\b", r"\bi'd go with\b", r"\bi would go with\b",
                 r"\bi'll go with\b", r"\bi choose\b", r"\bi'd choose\b", r"\bi pick\b",
                 r"\bmore likely\b", r"\bmost likely\b", r"\bmainly\b", r"\bprimarily\b",
                 r"\bbest fits?\b", r"\bbest described as\b", r"\bi think\b", r"\bi believe\b",
                 r"\bclearly\b", r"\bdefinitely\b")
_FINAL = _words("最终答案", "最终类别", "最终结果", "综上所述", "综上", "因此", "所以", "最终",
                r"\bfinal answer\b", r"\bfinal category\b", r"\bfinal label\b", r"\btherefore\b",
                r"\bthus\b", r"\bso the answer\b", r"\bin conclusion\b", r"\boverall\b",
                r"\bhence\b")
_MARK_FINAL = re.compile(f"(?:{_FINAL})(?:{_FILL}(?:{_ANSWER_WORD}))?(?:{_FILL}(?:{_CONNECT}))?"
                         f"{_FILL}{_COPULA}$")
_MARK_STRONG = re.compile(f"(?:(?:{_ANSWER_WORD}){_FILL}(?:{_CONNECT})|{_PREFER}"
                          f"|{_CONTRAST.pattern}){_FILL}{_COPULA}$")
_LIST_INTRO = re.compile(_words("类别包括", "可选类别", "候选类别", "类别有", "类别列表",
                                r"\bone of these categories\b", r"\bthe categories are\b",
                                r"\bcategories include\b", r"\bcategories:", r"\boptions are\b",
                                r"\bthe options\b", r"\bpossible categories\b"))
_LIST_END = re.compile(r"[。.!?！？]|\n\n")
_BULLET_LINE = re.compile(r"[ \t]*[-*•][ \t]*\x00+[ \t]*")


# ------------------------------------------------------------------ echoes
@lru_cache(maxsize=1024)
def _grams(text: str) -> tuple[int, frozenset]:
    """(k, the set of k-character runs of ``text`` without whitespace)."""
    source = "".join(fold(text).split())
    k = 6 if len(_CJK.findall(source)) * 2 >= len(source) else 20
    k = min(k, len(source))
    if k < 4:
        return 0, frozenset()
    return k, frozenset(source[i:i + k] for i in range(len(source) - k + 1))


def _echo_spans(reply: str, text: str | None) -> list[tuple[int, int]]:
    """Spans of ``reply`` (folded) that repeat a run of ``text`` (whitespace ignored)."""
    if not text or not isinstance(text, str):
        return []
    k, grams = _grams(text)
    where = [i for i, c in enumerate(reply) if not c.isspace()]
    if not k or len(where) < k:
        return []
    chars = "".join(reply[i] for i in where)
    spans: list[tuple[int, int]] = []
    for j in range(len(chars) - k + 1):
        if chars[j:j + k] in grams:
            start, end = where[j], where[j + k - 1] + 1
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
    return spans


# ------------------------------------------------------------------- JSON
def _json_objects(reply: str):
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", reply):
        try:
            obj, _ = decoder.raw_decode(reply, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


def _json_answer(reply: str) -> str | None:
    if "{" not in reply:
        return None
    for obj in _json_objects(reply):
        folded = {fold(str(k)).strip(): v for k, v in obj.items()}
        for key in JSON_KEYS:
            if isinstance(folded.get(key), str):
                return folded[key]
        strings = [v for v in obj.values() if isinstance(v, str)]
        if len(strings) == 1:
            return strings[0]
    return None


# ------------------------------------------------------------------ parse
def _mentions(text: str, patterns) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for label, pattern in patterns:
        found.extend((m.start(), m.end(), label) for m in pattern.finditer(text))
    return found


def _rank(masked: str, start: int, end: int) -> int | None:
    """3 concluding, 2 marked, 1 plain, 0 hedged; None when negated."""
    clause = masked[:start]
    cut = max((m.end() for m in _BOUNDARY.finditer(clause)), default=0)
    segment = clause[cut:]
    contrasts = list(_CONTRAST.finditer(segment))
    after = segment[contrasts[-1].end():] if contrasts else segment
    if _NEG_PRE.search(after) or _NEG_POST.match(masked[end:]):
        return None
    if _HEDGE.search(after):
        return 0
    window = masked[max(0, start - 60):start]
    if _MARK_FINAL.search(window):
        return 3
    if _MARK_STRONG.search(window):
        return 2
    return 1


def _match_text(reply: str, labels: tuple, alias_pairs: tuple, text) -> str | None:
    exact, patterns = _matcher(labels, alias_pairs)
    folded = fold(reply)
    trimmed = label_key(reply).strip(_TRIM)
    if trimmed in exact:
        return exact[trimmed]
    mentions = _mentions(folded, patterns)
    if not mentions:
        return None
    mentions = [m for m in mentions
                if not any(o[0] <= m[0] and m[1] <= o[1] and (o[1] - o[0]) > (m[1] - m[0])
                           for o in mentions)]
    masked = list(folded)
    for s, e, _ in mentions:
        masked[s:e] = MASK * (e - s)
    masked = "".join(masked)
    excluded = _echo_spans(folded, text)
    excluded += _list_echoes(masked)
    for m in _LIST_INTRO.finditer(masked):
        stop = _LIST_END.search(masked, m.end())
        excluded.append((m.end(), stop.start() if stop else len(masked)))
    ranked = []
    for s, e, label in mentions:
        if any(a <= s and e <= b for a, b in excluded):
            continue
        rank = _rank(masked, s, e)
        if rank is not None:
            ranked.append((rank, s, -(e - s), label))
    if not ranked:
        return None
    top = max(r[0] for r in ranked)
    best = [r for r in ranked if r[0] == top]
    best.sort(key=lambda r: (r[1], r[2]))
    if top == 3:
        last = max(r[1] for r in best)
        best = [r for r in best if r[1] == last]
    return best[0][3]


def _list_echoes(masked: str) -> list[tuple[int, int]]:
    """Spans of two or more consecutive lines that are each a bullet and a mention."""
    spans, run, pos = [], [], 0
    for line in masked.split("\n") + [""]:
        if _BULLET_LINE.fullmatch(line):
            run.append((pos, pos + len(line)))
        else:
            if len(run) >= 2:
                spans.extend(run)
            run = []
        pos += len(line) + 1
    return spans


def parse_label(reply, labels, text=None, aliases=None, unknown: str = UNKNOWN) -> str:
    """The label ``reply`` names, or ``unknown`` (rules in the module docstring).

    ``text`` is the classified text (its echoes in the reply don't count);
    ``aliases`` maps a label to other names for it.
    """
    if not isinstance(reply, str) or not reply.strip():
        return unknown
    labels = tuple(str(lab) for lab in labels)
    alias_pairs = _normalise_aliases(labels, aliases)
    answer = _json_answer(reply)
    if answer is not None and answer.strip():
        found = _match_text(answer, labels, alias_pairs, None)
        if found is not None:
            return found
    found = _match_text(reply, labels, alias_pairs, text)
    return unknown if found is None else found


def parse_labels(replies, labels, texts=None, aliases=None, unknown: str = UNKNOWN) -> list[str]:
    """``parse_label`` for each reply (and its text, when ``texts`` is given), in order."""
    replies = list(replies)
    texts = [None] * len(replies) if texts is None else list(texts)
    if len(texts) != len(replies):
        raise ValueError(f"{len(replies)} replies but {len(texts)} texts")
    return [parse_label(r, labels, t, aliases, unknown)
            for r, t in zip(replies, texts, strict=True)]
