"""Encodings, contamination, filters and dedup on inputs built from real text."""
from __future__ import annotations

import random

import pytest

from london_llm.cleaning import contamination, dedup, filters, gutenberg_txt
from london_llm.cleaning.encoding import decode_bytes
from london_llm.cleaning.normalise import apply_long_s, ascii_fold, fix_tag_spacing, tidy_whitespace

LATIN = ("Quo usque tandem abutere, Catilina, patientia nostra? quam diu etiam furor iste tuus nos eludet? "
         "quem ad finem sese effrenata iactabit audacia? Nihilne te nocturnum praesidium Palati, nihil urbis "
         "vigiliae, nihil timor populi, nihil concursus bonorum omnium, nihil hic munitissimus habendi senatus "
         "locus, nihil horum ora voltusque moverunt? Patere tua consilia non sentis, constrictam iam horum omnium "
         "scientia teneri coniurationem tuam non vides? Quid proxima, quid superiore nocte egeris, ubi fueris, "
         "quos convocaveris, quid consilii ceperis, quem nostrum ignorare arbitraris? O tempora, o mores! "
         "Senatus haec intellegit, consul videt; hic tamen vivit. Vivit? immo vero etiam in senatum venit, fit "
         "publici consilii particeps, notat et designat oculis ad caedem unum quemque nostrum. Nos autem fortes "
         "viri satis facere rei publicae videmur, si istius furorem ac tela vitemus. Ad mortem te, Catilina, "
         "duci iussu consulis iam pridem oportebat, in te conferri pestem, quam tu in nos omnes iam diu machinaris.")


@pytest.fixture(scope="module")
def sheppard(shared_corpus) -> str:
    """Real text with non-ASCII letters: Jack Sheppard from its ISO-8859-1 Gutenberg file."""
    raw = (shared_corpus / "gutenberg-gitenberg-format-variants/pg16215/16215-8.txt").read_bytes()
    return raw.decode("latin-1").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def pepys(shared_corpus) -> str:
    """Real text with curly quotes and dashes (cp1252 and Mac Roman have them, Latin-1 does not)."""
    from london_llm.cleaning import standardebooks_xhtml
    raw = (shared_corpus / "standardebooks-pepys-diary/src/epub/text/chapter-10.xhtml").read_bytes()
    text = standardebooks_xhtml.parse(raw, {})[0].text[:20_000]
    return "".join(ch for ch in text if ch.encode("cp1252", "ignore") and ch.encode("mac_roman", "ignore"))


def test_utf8_with_and_without_bom_and_line_endings(sheppard):
    assert "æ" in sheppard
    for data in (sheppard.encode("utf-8"), b"\xef\xbb\xbf" + sheppard.encode("utf-8"),
                 sheppard.replace("\n", "\r\n").encode("utf-8"), sheppard.replace("\n", "\r").encode("utf-8")):
        assert decode_bytes(data).text == sheppard
    assert decode_bytes(b"\xef\xbb\xbf" + sheppard.encode("utf-8")).encoding == "utf-8-sig"


def test_latin1_cp1252_and_mac_roman_are_told_apart(sheppard, pepys):
    assert "’" in pepys and "—" in pepys
    assert decode_bytes(sheppard.encode("latin-1")).text == sheppard
    cp = decode_bytes(pepys.replace("\n", "\r\n").encode("cp1252"))
    assert (cp.encoding, cp.text) == ("cp1252", pepys)
    mac = decode_bytes(pepys.replace("\n", "\r").encode("mac_roman"))  # classic Mac: bare CR lines
    assert (mac.encoding, mac.text) == ("mac_roman", pepys)
    mac_lf = decode_bytes((pepys + "\nCæsar’s").encode("mac_roman"))
    assert mac_lf.encoding == "mac_roman" and mac_lf.text.endswith("Cæsar’s")


def test_undecodable_bytes_never_crash(sheppard):
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(5_000))
    for data in (noise, sheppard.encode("utf-8")[:1001] + b"\x81\x8d\x8f\x90\x9d" + noise, b"", b"\xff\xfe\x00"):
        assert isinstance(decode_bytes(data).text, str)


def test_long_s_rule_is_switchable():
    text = "the ſhip of ﬁne ﬂax, noſtri eſt"
    assert apply_long_s(text, "normalise") == "the ship of fine flax, nostri est"
    assert apply_long_s(text, "keep") == text
    with pytest.raises(ValueError, match="long_s"):
        apply_long_s(text, "drop")


def test_spacing_helpers():
    assert fix_tag_spacing("Oliver Smith , of ( London ) .") == "Oliver Smith, of (London)."
    assert tidy_whitespace("  a  b \n\n\n\n c\u00a0 d ") == "a b\n\nc d"


def test_contamination_removed_from_real_text(sheppard):
    para = sheppard[200_000:203_000]
    dirty = "\n".join([para, "Produced by Jason Isbell and the Online Distributed Proofreading Team",
                       "at http://www.pgdp.net and mail corrections to someone@example.org please",
                       "End of Project Gutenberg's Jack Sheppard", "Digitized by Google",
                       "This eBook is for the use of anyone anywhere at no cost", para])
    cleaned, removed = contamination.strip(dirty)
    assert contamination.find(cleaned) is None
    assert para in cleaned and cleaned.count(para[:200]) == 2
    for gone in ("http", "pgdp", "@", "Gutenberg", "Digitized", "eBook", "Proofreading"):
        assert gone not in cleaned
    assert set(removed) == {"url", "email", "licence", "scanner", "editorial"}
    assert contamination.strip(para) == (para, {})  # period text untouched


def test_period_phrases_are_not_contamination(shared_corpus):
    # "the evidence produced by the prosecutor" is trial English, not a producer credit
    text = "The Evidence produced by the Prosecutor was sufficient; the Jury found him Guilty."
    assert contamination.find(text) is None


def test_filters():
    s = filters.FilterSettings(min_year=1500, max_year=1913)
    assert filters.not_english(LATIN, s)
    english = "JOHN BARRY (25), PLEADED GUILTY to unlawfully uttering counterfeit coin— Twelve Months' Imprisonment."
    assert not filters.not_english(english, s)  # telegraphic English is still English
    assert filters.ocr_garbage("~~ 1 2 ; | ii ' ,: ;;; . ' ! 3 .. » « ^ ' " * 20, s)
    assert filters.too_short("Guilty.", s)
    assert filters.out_of_range(1950, s) and not filters.out_of_range(None, s) and not filters.out_of_range(1700, s)


def test_gutenberg_variants_are_near_duplicates_and_folding(shared_corpus):
    folder = shared_corpus / "gutenberg-gitenberg-format-variants/pg20535"
    signatures = []
    for name in ("20535-0.txt", "20535-8.txt", "20535.txt"):  # UTF-8, Latin-1, ASCII
        text = apply_long_s(gutenberg_txt.parse((folder / name).read_bytes(), {})[0].text)
        signatures.append(dedup.signature(dedup.fold_and_hash(text)[0]))
    checker = dedup.Deduplicator()
    assert checker.check("utf8", "h0", signatures[0]) is None
    assert checker.check("latin1", "h1", signatures[1]) == ("near_duplicate", "utf8")
    assert checker.check("ascii", "h2", signatures[2]) == ("near_duplicate", "utf8")
    assert checker.check("again", "h0", None) == ("exact_duplicate", "utf8")
    assert ascii_fold("Cæsar’s kiss'd ſhip") == ascii_fold("Caesars kissd ship") == "caesars kissd ship"


def test_different_books_are_not_duplicates(shared_corpus):
    texts = [gutenberg_txt.parse((shared_corpus / f"gutenberg-gitenberg-format-variants/pg{n}/{n}.txt").read_bytes(), {})[0].text
             for n in (16215, 25063)]
    checker = dedup.Deduplicator()
    for i, text in enumerate(texts):
        assert checker.check(str(i), str(i), dedup.signature(dedup.fold_and_hash(text)[0])) is None
    assert dedup.signature("short") is None  # short records are only deduplicated exactly


def test_mojibake_is_repaired_and_clean_text_untouched(pepys, sheppard):
    mangled = pepys.encode("utf-8").decode("cp1252", errors="ignore")
    assert "â€™" in mangled
    repaired = decode_bytes(mangled.encode("utf-8")).text
    assert repaired.count("’") == pepys.count("’") and "â€" not in repaired
    assert decode_bytes(sheppard.encode("utf-8")).text == sheppard  # æ and friends stay as they are
