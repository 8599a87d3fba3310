"""Golden fixtures for dendrite-format, written by the real Python bittensor 3.7.0: endpoint tensors,
token ids of 1,000+ strings, padded batches, and the Python tokenizer's throughput on the batch.

Run by `cargo xtask fixtures` with the peer's python; writes one JSON file.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.environ["DENDRITE_SHARED"], "peer"))
import netguard  # noqa: E402,F401

import bittensor  # noqa: E402

OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
PEER_DIR = os.environ.get("PEER_DIR", os.path.expanduser("~/.cache/dendrite-peer"))
os.chdir(os.path.join(PEER_DIR, "run"))  # holds ./gpt2, which the tokenizer resolves to


def endpoint_cases():
    keys = [bittensor.Keypair.create_from_uri(u).ss58_address for u in ("//Alice", "//Bob", "//Charlie", "//Dave")]
    specs = [
        (370, 0, keys[0], "127.0.0.1", 4, 8091, keys[1]),
        (1, 4294967294, keys[1], "255.255.255.255", 4, 1, keys[2]),
        (998, 17, keys[2], "10.0.0.1", 4, 65534, keys[3]),
        (370, 5, keys[3], "::1", 6, 9000, keys[0]),
        (370, 1, keys[0], "2001:db8:85a3::8a2e:370:7334", 6, 443, keys[1]),
        (370, 123456, keys[0], "2001:db8:85a3::8a2e:370:7334", 6, 443, keys[1]),  # 251 bytes: too large
        (300, 42, keys[1], "fe80::1", 6, 30333, keys[2]),
    ]
    out = []
    for version, uid, hotkey, ip, ip_type, port, coldkey in specs:
        e = bittensor.endpoint(version=version, uid=uid, hotkey=hotkey, ip=ip, ip_type=ip_type, port=port,
                               coldkey=coldkey)
        case = {"version": e.version, "uid": e.uid, "hotkey": e.hotkey, "ip": e.ip, "ip_type": e.ip_type,
                "port": e.port, "coldkey": e.coldkey, "protocol": e.protocol, "modality": e.modality,
                "json": e.dumps()}
        try:
            case["tensor"] = e.to_tensor().tolist()
        except ValueError:
            case["too_large"] = True
        out.append(case)
    dummy = bittensor.endpoint.dummy()
    out.append({"dummy": True, "json": dummy.dumps(), "tensor": dummy.to_tensor().tolist()})
    return out


def strings():
    rng = random.Random(370)
    words = ["hello", "world", "the", "Bittensor", "dendrite", "axon", "don't", "it's", "we'll", "I'm", "3.14159",
             "1,000,000", "e-mail", "foo_bar", "CamelCase", "URL:", "https://example.com/a?b=c", "#hashtag",
             "@user", "C++", "naïve", "café", "Zürich", "Ελληνικά", "русский", "日本語", "中文字符", "한국어",
             "עברית", "العربية", "हिन्दी", "ไทย", "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "∑∫√∞", "™", "…", "—", "<|endoftext|>",
             "\u200b", "\x00", "\x07", "tab\there", "line\nbreak"]
    spaces = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "    \t  "]
    out = ["", " ", "  ", "\n", "\t", "hello world", "Hello, World!", "<|endoftext|>", "a<|endoftext|>b",
           " leading", "trailing ", "   both   ", "x" * 3000, "ab " * 1200, "😀" * 50, "日本" * 300]
    while len(out) < 1100:
        n = rng.choice([1, 2, 3, 5, 8, 13, 40, 200])
        parts = []
        for _ in range(n):
            parts.append(rng.choice(words) if rng.random() < 0.8 else "".join(
                chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2fff), rng.randint(0x1f300, 0x1faff)]))
                for _ in range(rng.randint(1, 6))))
            parts.append(rng.choice(spaces) if rng.random() < 0.3 else " ")
        text = "".join(parts)
        if rng.random() < 0.3:
            text = text.strip()
        out.append(text)
    return out


def main():
    tok = bittensor.tokenizer()
    texts = strings()
    if "--bench-only" in sys.argv:
        best = min(_timed(lambda: tok(texts[:1000], padding=True, truncation=True)) for _ in range(5))
        n_tokens = sum(len(tok(t)["input_ids"]) for t in texts[:1000])
        print(f"python tokenizer: {n_tokens} tokens in {best * 1e3:.1f} ms = {n_tokens / best:,.0f} tokens/s")
        return
    single = [tok(t)["input_ids"] for t in texts]
    batches = []
    for size in (2, 3, 7, 16):
        for start in (0, 100, 500):
            group = texts[start:start + size]
            batches.append({"texts": group, "ids": tok(group, padding=True, truncation=True)["input_ids"]})
    long_batch = ["short", "word " * 1500]
    batches.append({"texts": long_batch, "ids": tok(long_batch, padding=True, truncation=True)["input_ids"]})
    # Throughput of the Python tokenizer on the whole batch (best of 5), for the side-by-side figure.
    best = min(_timed(lambda: tok(texts[:1000], padding=True, truncation=True)) for _ in range(5))
    n_tokens = sum(len(ids) for ids in single[:1000])
    fixtures = {
        "generated_by": f"bittensor {bittensor.__version__}",
        "endpoints": endpoint_cases(),
        "strings": [{"text": t, "ids": ids} for t, ids in zip(texts, single)],
        "batches": batches,
        "python_tokenizer": {"strings": 1000, "tokens": n_tokens, "seconds": best,
                             "tokens_per_second": n_tokens / best},
        "pad_token_id": tok.pad_token_id,
        "padding_side": tok.padding_side,
    }
    with open(OUT, "w") as f:
        json.dump(fixtures, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(texts)} strings, {len(batches)} batches; python tokenizer "
          f"{n_tokens / best:,.0f} tokens/s")


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
