"""Clause classes in wording the fixtures do not use: variants, wrapping, Markdown, lists."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from helpers.real_models import SITE
from modeltrust._assess.clauses import find_clauses, kinds_of

VARIANTS: list[tuple[str, str]] = [
    ("user_threshold", "If the monthly active users of the products exceeds 700 million in "
                       "the preceding calendar month, you must request a license."),
    ("user_threshold", "If your product has more than 100 million monthly\nactive users, you "
                       "must obtain a licence."),
    ("user_threshold", "If you have over 700,000,000 MAU you need a separate licence."),
    ("user_threshold", "Where your annual revenue exceeds USD 1 million you must obtain an "
                       "enterprise licence."),
    ("user_threshold", "If your organisation's annual turnover is greater than \u20ac10 "
                       "million, contact us."),
    ("user_threshold", "Entities with annual revenues of more than RMB 100 million must apply "
                       "for authorization."),
    ("user_threshold", "If your total annual revenue is in excess of \u00a31,000,000, you need "
                       "an enterprise licence."),
    ("user_threshold", "Companies whose yearly gross revenue exceeds \u00a5 1,000,000,000 "
                       "require a licence."),
    ("user_threshold", "Users with more than 1M daily active users must contact us."),
    ("user_threshold", "**Commercial use above 100 million monthly active users** requires a "
                       "separate agreement."),
    ("output_ban", "You may not use the outputs of the Model to develop models that compete "
                   "with us."),
    ("output_ban", "You shall not use the Model or its Outputs to train, improve or fine-tune "
                   "any other AI model."),
    ("output_ban", "Outputs may not be used to train a competing model."),
    ("output_ban", "You must not use the model's outputs to create or improve a different "
                   "machine learning model."),
    ("output_ban", "You agree not to use any Output to distill another language model."),
    ("naming", "you shall prominently display \u201cBuilt with Meta Llama 3\u201d on a related "
               "website"),
    ("naming", 'display "Built with Qwen" or "Improved using Qwen" in the documentation'),
    ("naming", 'Derivative model names must start with "Yi-".'),
    ("naming", 'you must prominently display "Powered by Stability AI" on your website'),
    ("naming", "Any Derivative Model shall include the name of the Model in its name."),
    ("naming", "you must name your derivative with the prefix DeepSeek"),
    ("remote_restriction", "We may remotely disable or restrict your access to the model."),
    ("remote_restriction", "The Licensor may, remotely or otherwise, restrict usage."),
    ("termination_deletion", "On termination you must destroy all copies of the Model."),
    ("termination_deletion", "Upon termination, you must immediately cease using the Materials "
                             "and delete all copies."),
    ("termination_deletion", "Following termination you agree to erase all copies of the model "
                             "weights."),
    ("non_commercial", "Commercial use is prohibited."),
    ("non_commercial", "Commercial use is not permitted without a separate licence."),
    ("non_commercial", "The model is licensed for noncommercial use."),
    ("non_commercial", "You shall not use the model for any commercial purpose."),
    ("non_commercial", "This model may not be used for commercial purposes."),
    ("research_only", "The Model is made available for research purposes only."),
    ("research_only", "Use is restricted to research and evaluation."),
    ("research_only", "for research and educational purposes only"),
    ("research_only", "You may only use the model for scientific research."),
    ("field_of_use", "You may not use the Model in medical diagnosis."),
    ("field_of_use", "The model shall not be used for surveillance or weapons development."),
    ("field_of_use", "You will not use, or allow others to use, the model to harm minors."),
    ("field_of_use", "Use of the Model for any purpose listed in Attachment A is prohibited."),
    ("field_of_use", "You **must not** use the model to generate disinformation."),
    ("field_of_use", "Licensee shall not use the Model for military purposes."),
]


@pytest.mark.parametrize(("kind", "sentence"), VARIANTS)
def test_clause_variants(kind: str, sentence: str) -> None:
    clauses = find_clauses(sentence, "LICENSE")
    assert kind in {c.kind for c in clauses}
    assert clauses[0].quote == " ".join(sentence.split())


def test_wrapped_numbered_markdown_sentence_is_one_quote() -> None:
    text = ("# Terms\n\n1. Definitions apply.\n2. **Additional Commercial Terms.** If the\n"
            "   monthly active users of your products exceed\n   700 million, you must "
            "request a licence.\n3. Other terms.\n")
    clauses = find_clauses(text, "LICENSE.md")
    assert [(c.kind, c.line) for c in clauses] == [("user_threshold", 4)]
    assert clauses[0].quote.endswith("you must request a licence.")
    assert "\n" not in clauses[0].quote


@pytest.mark.parametrize("sentence", [
    "Anyone is free to use this software for any purpose, commercial or non-commercial.",
    "You may use the Work for commercial and noncommercial purposes.",
    'Licensed under the Apache License, Version 2.0 (the "License"); you may not use this '
    "file except in compliance with the License.",
    "Neither the name of the copyright holder nor the names of its contributors may be "
    "used to endorse or promote products derived from this software.",
    "In no event shall the liability exceed USD 100 for damages of any kind.",
    "The software is provided as is, including the implied warranties of merchantability.",
])
def test_permissions_are_not_clauses(sentence: str) -> None:
    assert kinds_of(sentence) == set()


def _permissive_texts() -> list[str]:
    roots = glob.glob(str(SITE / "*.dist-info"))
    out = []
    for root in sorted(roots):
        for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "licenses/LICENSE",
                     "licenses/LICENSE.txt", "licenses/LICENSE.md", "licenses/COPYING"):
            path = Path(root) / name
            if path.is_file():
                out.append(str(path))
    return out


def test_real_permissive_licence_texts_have_no_clause() -> None:
    """Apache-2.0, MIT, BSD, LGPL texts installed with our dependencies: no clause."""
    paths = _permissive_texts()
    if len(paths) < 10:
        pytest.skip("dependency licence texts not available")
    for path in paths:
        text = Path(path).read_text(errors="replace")[:400_000]
        assert find_clauses(text, path) == [], path
