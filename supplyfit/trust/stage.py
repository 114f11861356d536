"""The trust stage of the pipeline: verify the catalogue, score merchants (or product lines)."""

from __future__ import annotations

from ..store import Store
from .credit import credit_scores
from .verify import verify_catalog


def run(store: Store) -> str:
    """Write ``verification`` (one row per finding) and ``credit`` (one row per merchant or product line); the
    pipeline checks first that the tenant has order lines (:data:`supplyfit.pipeline.STAGES`)."""
    findings = verify_catalog(store)
    store.write_result("verification", findings)
    credit = credit_scores(store, findings)
    store.write_result("credit", credit)
    counts = findings.kind.value_counts()
    basis = credit.basis.iloc[0].split(" (")[0] if len(credit) else "merchant"
    return (
        f"{len(findings):,} findings ({', '.join(f'{n} {k}' for k, n in counts.items())}); "
        f"{len(credit)} {basis} credit scores"
    )
