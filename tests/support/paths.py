"""Where the repository, the test data, the seeds and the shared corpus are."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SEEDS = ROOT / "config" / "sources"
LIVEBLOG_SEED = SEEDS / "002_e172f4ce3e219c2c.txt"
ARTICLE_SEED = SEEDS / "000_653ba9bfbb343b79.txt"
# Real pages and feeds kept beside the repository, never inside it (README, "Corpus").
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
