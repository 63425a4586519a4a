"""The shipped cue and structure tables validate, and a user's cue file extends them."""
from __future__ import annotations


import pytest

from notecards.classify import Context, classify_bullet
from notecards.config import config_from_mapping
from notecards.errors import ConfigError
from notecards.model import LABELS
from notecards.pipeline import extract_paths, rules_for
from notecards.rules import load_rules


def test_shipped_tables_cover_every_label():
    rules = load_rules()
    assert {c.label for c in rules.cues} == set(LABELS)
    assert set(rules.sections.values()) == set(LABELS)
    assert {p.label for p in rules.prefixes} == set(LABELS)
    assert rules.venues["arixv"] == "arXiv" and rules.venues["nips"] == "NeurIPS"


def test_user_cue_file_is_tried_first(tmp_path):
    cues = tmp_path / "my-cues.yaml"
    cues.write_text("cues:\n  - {label: other, lang: en, weight: 20, words: [widget]}\n"
                    "venues:\n  MyConf: [myconf, my-conf]\n", encoding="utf-8")
    rules = load_rules(cues)
    ctx = Context(index=1, count=3)
    assert classify_bullet("We propose a widget for attention.", ctx, rules)[0] == "other"
    assert classify_bullet("We propose a widget for attention.", ctx, load_rules())[0] == "method"
    assert rules.venues["my-conf"] == "MyConf"


def test_config_points_at_a_cue_file(tmp_path):
    (tmp_path / "cues.yaml").write_text("prefixes:\n  - {label: finding, keys: [Verdict]}\n", encoding="utf-8")
    note = tmp_path / "n.md"
    note.write_text("# [Some Paper Title Here](https://example.org)\n\n- Verdict: works well\n", encoding="utf-8")
    cfg = config_from_mapping({"cues": "cues.yaml"}, base=tmp_path)
    doc = extract_paths([note], cfg).documents[0]
    assert [b.label for b in doc.papers[0].bullets] == ["finding"]
    assert rules_for(cfg).source.endswith("cues.yaml")


@pytest.mark.parametrize("text,message", [
    ("cues:\n  - {label: nonsense, words: [x]}\n", "cues[0]: label 'nonsense'"),
    ("cues:\n  - {label: method, regex: '(unclosed'}\n", "cues[0].regex: invalid regular expression"),
    ("cues:\n  - {label: method, words: [a], regex: b}\n", "cues[0]: give exactly one of 'words' or 'regex'"),
    ("cues:\n  - {label: method, lang: fr, words: [a]}\n", "cues[0].lang: 'fr'"),
    ("prefixes:\n  - {label: method, keys: [a], colour: red}\n", "prefixes[0]: unknown field 'colour'"),
    ("sectionz: []\n", "unknown section 'sectionz'"),
    ("cues: [\n", "not valid YAML"),
    ("weights:\n  - {feature: nested, method: high}\n", "weights[0].method: expected a number"),
    ("weights:\n  - {feature: nested, colour: 1}\n", "weights[0]: unknown field 'colour'"),
    ("weights:\n  - {feature: no such thing, method: 1}\n", "weights[0].feature: no cue, prior or context feature"),
    ("weights:\n  - {feature: nested, method: 1}\n  - {feature: nested, opinion: 1}\n", "weights[1].feature: 'nested' is given twice"),
    ("purposes:\n  - {lang: en, regex: '(unclosed'}\n", "purposes[0].regex: invalid regular expression"),
    ("shapes: {title_wrods: 2}\n", "shapes.title_wrods: unknown key"),
    ("titles:\n  - {label: finding, regex: '^How', weight: 0}\n", "titles[0].weight: expected a number"),
    ("titles:\n  - {label: finding, regex: '^How'}\n", "titles[0].note: expected a name"),
    ("titles:\n  - {label: finding, regex: '(unclosed', note: x}\n", "titles[0].regex: invalid regular expression"),
])
def test_broken_cue_file_names_file_entry_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_user_weights_record_replaces_the_fitted_one(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("weights:\n  - {feature: 'section: finding', opinion: 20}\n", encoding="utf-8")
    text = "Memory stays flat as the context grows."
    ctx = Context(section="finding", index=2, count=4)
    assert classify_bullet(text, ctx, load_rules())[0] == "finding"
    assert classify_bullet(text, ctx, load_rules(path))[0] == "opinion"


def test_a_cue_word_with_an_extension_a_character_reaches_jieba(tmp_path):
    path = tmp_path / "ext.yaml"
    path.write_text("cues:\n  - {label: other, lang: zh, weight: 20, words: [䶮测法]}\n", encoding="utf-8")
    rules = load_rules(path)
    assert "䶮测法" in rules.zh_words
    assert classify_bullet("本文用䶮测法估计参数", Context(index=1, count=3), rules)[0] == "other"


def test_shipped_structure_gives_every_shape_weight_and_a_user_file_overrides_one(tmp_path):
    from notecards.rules import SHAPE_KEYS

    assert set(load_rules().shapes) == set(SHAPE_KEYS)
    path = tmp_path / "mine.yaml"
    path.write_text("shapes: {link: 4}\n", encoding="utf-8")
    mine = load_rules(path).shapes
    assert mine["link"] == 4 and mine["title_words"] == load_rules().shapes["title_words"]


def test_a_user_title_cue_is_a_context_feature_of_every_bullet(tmp_path):
    from notecards.classify import classify_paper
    from notecards.model import Bullet, Paper

    path = tmp_path / "t.yaml"
    path.write_text("titles:\n  - {label: opinion, weight: 20, note: a position paper, regex: '(?i)^position:'}\n",
                    encoding="utf-8")
    paper = Paper("Position: Benchmarks Are Saturated", None, None, 1,
                  (Bullet("We propose a new benchmark.", 2, index=0), Bullet("It has ten tasks.", 3, index=1)))
    assert [b.label for b in classify_paper(paper, load_rules(path)).bullets] == ["opinion", "opinion"]
    assert "opinion" not in [b.label for b in classify_paper(paper, load_rules()).bullets]
