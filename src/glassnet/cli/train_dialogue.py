"""``glassnet train hred|vhred|seq2seq-dialogue --data sgd``: a dialogue model on SGD, resumably, step by step.

The run: read the SGD train and dev dialogues (:func:`glassnet.data.datasets.load_sgd`); build the
vocabulary on the training dialogues only (dev words outside it are ``<unk>``); cut every dialogue into
(context of up to U previous turns, response) examples (:class:`glassnet.text.DialogueCorpus`); then take
``--steps`` steps (default: ``--epochs`` passes) of :func:`glassnet.train.train_step` on shuffled batches,
minimising the NLL per response token (VHRED: the negative ELBO per token with the KL weight
:func:`~glassnet.zoo.linear_kl_weight` rising from 0 over ``--kl-anneal-steps``). Every
``--checkpoint-every`` steps and at the end it measures the dev perplexity and writes ``checkpoint.npz``
atomically; at the end ``metrics.json``. ``--resume`` continues from ``OUT/checkpoint.npz`` and ends with
the same numbers as an uninterrupted run: the batch order of epoch e is drawn from its own seed
``SeedSequence(seed, spawn_key=(1, e))``, so a resumed run needs only the step count to find its place.

The checkpoint holds, besides the training state, everything ``glassnet chat`` needs to rebuild the model
without the data (``extra["dialogue"]``): the model class, its constructor arguments, the vocabulary and
the context layout (U, L). :func:`load_dialogue_model` reads it back.

Dev perplexity: ``exp(Σ NLL / Σ tokens)`` over every dev response token (``<eos>`` counted, padding not).
For VHRED the NLL is the reconstruction term for one posterior sample ``z ~ q(z | c, r)`` (drawn from a
fixed seed, so it does not move the training stream); ``dev_kl`` is the mean ``KL(q || p)`` per response
(near 0 nats is a collapsed posterior) and ``dev_elbo_ppl = exp((Σ NLL + Σ KL) / Σ tokens)`` bounds the
true perplexity from above.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from glassnet.errors import ConfigError, DataError

__all__ = ["DIALOGUE_MODELS", "dialogue_train_command", "run_dialogue_training", "load_dialogue_model",
           "parse_file_numbers"]

CHECKPOINT = "checkpoint.npz"

DIALOGUE_MODELS: dict[str, str] = {
    "hred": "HRED (Serban et al. 2016): utterance GRU, context GRU over the last --max-turns turns, decoder "
            "(zoo.HRED; --data sgd)",
    "vhred": "VHRED (Serban et al. 2017): HRED plus a latent z per response, KL annealing and word dropout "
             "(zoo.VHRED; --data sgd)",
    "seq2seq-dialogue": "the seq2seq baseline: HRED's encoder and decoder on the previous utterance only "
                        "(zoo.HRED(context_rnn=False); --data sgd)",
}
_CLASSES = {"hred": "HRED", "vhred": "VHRED", "seq2seq-dialogue": "HRED"}

# option defaults that depend on the model (the others are click defaults)
_WORD_DROPOUT = {"hred": 0.0, "vhred": 0.25, "seq2seq-dialogue": 0.0}

# settings that must match the checkpoint's when resuming (--steps/--epochs may grow)
_FIXED_ON_RESUME = ("data", "data_dir", "train_files", "dev_files", "max_dialogues", "vocab_size", "min_freq",
                    "max_turns", "max_len", "max_response_len", "embed", "hidden", "latent", "word_dropout",
                    "kl_anneal_steps", "batch_size", "lr", "optimizer", "clip", "seed", "checkpoint_every")


def parse_file_numbers(text: str, option: str) -> list[int]:
    """``"1-12"`` -> ``[1, …, 12]``; ``"3,5-6"`` -> ``[3, 5, 6]``: SGD file numbers (``dialogues_NNN.json``).

    Raises:
        ConfigError: anything but comma-separated numbers and ranges of numbers in 1..999.
    """
    numbers: list[int] = []
    try:
        for part in str(text).split(","):
            lo, _, hi = part.partition("-")
            a, b = int(lo), int(hi or lo)
            if not 1 <= a <= b <= 999:
                raise ValueError
            numbers.extend(range(a, b + 1))
    except ValueError:
        raise ConfigError(f"{option} must be file numbers in 1..999 such as 1-12 or 3,5-6, got {text!r}") from None
    return numbers


def build_dialogue_model(class_name: str, kwargs: dict[str, Any]):
    """``zoo.HRED(**kwargs)`` or ``zoo.VHRED(**kwargs)``.

    Raises:
        DataError: an unknown class name. ConfigError: bad constructor arguments (the model's own checks).
    """
    from glassnet.zoo import HRED, VHRED

    classes = {"HRED": HRED, "VHRED": VHRED}
    if class_name not in classes:
        raise DataError(f"dialogue checkpoint: model class must be one of {sorted(classes)}, got {class_name!r}")
    return classes[class_name](**kwargs)


def _lab_record(path: Path) -> dict[str, Any] | None:
    """The dialogue record of a lab's ``<name>.npz`` + ``<name>.json`` pair (hred-context, vhred-diversity), or None."""
    sidecar = path.with_suffix(".json")
    if path.suffix != ".npz" or not sidecar.is_file():
        return None
    import json

    try:
        meta = json.loads(sidecar.read_text())
        args = dict(meta["args"])
        name = "vhred" if meta["model"] == "VHRED" else "hred" if args.get("context_rnn", True) else "seq2seq-dialogue"
        # runs saved before the layout was written: the labs' U = 3 (1 for the baseline) and L = 24
        return {"class": meta["model"], "kwargs": args, "vocab": meta["vocab"], "model": name,
                "max_turns": meta.get("max_turns", 3 if name != "seq2seq-dialogue" else 1),
                "max_len": meta.get("max_len", 24)}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"dialogue model: {sidecar} is not a readable lab record ({type(e).__name__}: {e})") from None


def load_dialogue_model(path: str | Path, who: str = "chat") -> tuple[Any, Any, dict[str, Any]]:
    """``(model in eval mode, vocabulary, layout)`` from a checkpoint of ``glassnet train hred|vhred|...``.

    Also reads the ``<name>.npz`` + ``<name>.json`` pair the dialogue labs save (``hred-context``,
    ``vhred-diversity``): the state dict, and the class, arguments, vocabulary and layout beside it.
    ``layout`` holds ``model`` (the CLI name), ``max_turns`` (U) and ``max_len`` (L) of the training contexts.

    Raises:
        DataError: a missing or unreadable file, or a dialogue record that does not fit its weights.
        ConfigError: a checkpoint of a model that is not a dialogue model.
    """
    from glassnet.text import Vocabulary
    from glassnet.train import load, load_checkpoint

    lab = _lab_record(Path(path))
    if lab is not None:
        try:
            state = load(path)
        except (OSError, ValueError) as e:
            raise DataError(f"{who}: cannot read {path} ({type(e).__name__}: {e})") from None
        ck, record = None, lab
    else:
        ck = load_checkpoint(path)
        record, state = ck.extra.get("dialogue"), ck.model
    if record is not None and not isinstance(record, dict):
        record = None
    if record is None:
        model = ck.config.get("model", "unknown")
        raise ConfigError(f"{who}: {path} is a checkpoint of {model!r}, not of a dialogue model; train one with "
                          f"`glassnet train hred --data sgd`")
    try:
        vocab = Vocabulary(record["vocab"])
        model = build_dialogue_model(record["class"], dict(record["kwargs"]))
        model.load_state_dict(state)
        layout = {"model": str(record["model"]), "max_turns": int(record["max_turns"]),
                  "max_len": int(record["max_len"])}
    except (KeyError, TypeError, ValueError) as e:  # ConfigError/ShapeError are ValueErrors: weights that do not fit
        raise DataError(f"{who}: {path} has a malformed dialogue record ({type(e).__name__}: {e})") from None
    if len(vocab) != model.vocab:
        raise DataError(f"{who}: {path} holds a vocabulary of {len(vocab)} tokens for a model of V = {model.vocab}")
    return model.eval(), vocab, layout


def _seed_rng(seed: int, *key: int) -> np.random.Generator:
    """An independent Generator per purpose: (0,) the model, (1, e) epoch e's batch order, (2,) dev evaluation."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _objective(terms, kl_weight: float):
    """The loss per response token: NLL / #tokens, VHRED ``(NLL + kl_weight · Σ KL) / #tokens`` (as ``VHRED.loss``)."""
    import glassnet.functional as F

    total = terms.nll if terms.kl is None else terms.nll + F.sum(terms.kl) * kl_weight
    return total * (1.0 / max(terms.tokens, 1))


def _evaluate(model, corpus, seed: int, batch_size: int = 256) -> dict[str, float]:
    """Dev perplexity (and VHRED's KL per response and ELBO perplexity bound) over the whole corpus."""
    from glassnet import no_grad
    from glassnet.text import perplexity

    was_training = model.training
    model.eval()
    rng = _seed_rng(seed, 2)  # the same posterior samples at every evaluation; the training stream is untouched
    nll, kl, tokens, has_kl = 0.0, 0.0, 0, False
    try:
        with no_grad():
            for batch in corpus.batches(batch_size, shuffle=False):
                t = model.terms(*batch, rng=rng)
                nll += float(t.nll.item())
                tokens += t.tokens
                if t.kl is not None:
                    kl, has_kl = kl + float(t.kl.data.sum()), True
    finally:
        model.train(was_training)
    out = {"dev_ppl": perplexity(nll, tokens), "dev_nll_per_token": nll / tokens}
    if has_kl:
        out.update(dev_kl=kl / len(corpus), dev_elbo_ppl=perplexity(nll + kl, tokens))
    return out


def run_dialogue_training(config: dict[str, Any], out: str | Path, resume: bool = False, progress: bool = True,
                          echo=print) -> dict[str, Any]:
    """Run (or resume) one dialogue training run; returns what ``metrics.json`` holds.

    ``config`` keys: model, data, data_dir, train_files, dev_files (lists of ints), max_dialogues, vocab_size,
    min_freq, max_turns, max_len, max_response_len, embed, hidden, latent, word_dropout, kl_anneal_steps,
    steps (None: ``epochs`` passes), epochs, batch_size, lr, optimizer, clip, seed, checkpoint_every.

    Raises:
        ConfigError, DataError: bad settings, missing data or checkpoint.
        NonFiniteError: the loss or a gradient became non-finite (the step is named).
        KeyboardInterrupt: on Ctrl-C; the last checkpoint is on disk.
    """
    from tqdm.auto import tqdm

    from glassnet.data.datasets.sgd import load_sgd
    from glassnet.fileio import atomic_write_json
    from glassnet.text import DialogueCorpus, dialogue_vocabulary
    from glassnet.train import (
        Checkpoint,
        load_checkpoint,
        make_optimizer,
        model_generators,
        save_checkpoint,
        train_step,
    )
    from glassnet.zoo import linear_kl_weight

    out = Path(out)
    name = config["model"]
    if name not in DIALOGUE_MODELS:
        raise ConfigError(f"model must be one of {sorted(DIALOGUE_MODELS)}, got {name!r}")
    download = config["data_dir"] is None  # as `glassnet train`: a folder given by hand is read, never filled
    train_dialogues = load_sgd("train", config["data_dir"], download=download, files=config["train_files"],
                               max_dialogues=config["max_dialogues"])
    dev_dialogues = load_sgd("dev", config["data_dir"], download=download, files=config["dev_files"])
    try:  # only now, with the data loaded: a run that cannot start leaves no empty folder behind
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out: cannot create folder {out}: {e.strerror}") from None
    vocab = dialogue_vocabulary(train_dialogues, min_freq=config["min_freq"], max_size=config["vocab_size"])
    previous_only = name == "seq2seq-dialogue"
    layout = {"max_turns": 1 if previous_only else config["max_turns"], "max_len": config["max_len"],
              "max_response_len": config["max_response_len"], "previous_only": previous_only}
    train = DialogueCorpus(train_dialogues, vocab, **layout)
    dev = DialogueCorpus(dev_dialogues, vocab, **layout)
    if len(train) == 0 or len(dev) == 0:
        raise DataError(f"train: the SGD files give {len(train)} train and {len(dev)} dev examples; need both > 0")

    kwargs: dict[str, Any] = {"vocab": len(vocab), "embed": config["embed"], "utterance_hidden": config["hidden"],
                              "context_hidden": config["hidden"], "decoder_hidden": config["hidden"],
                              "word_dropout": config["word_dropout"], "pad_id": vocab.pad_id,
                              "unk_id": vocab.unk_id, "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    if name == "vhred":
        kwargs.update(latent=config["latent"], latent_hidden=config["hidden"])
    elif previous_only:
        kwargs["context_rnn"] = False
    model = build_dialogue_model(_CLASSES[name], {**kwargs, "rng": _seed_rng(config["seed"], 0)})
    optimizer = make_optimizer(config["optimizer"], model.parameters(), config["lr"])
    per_epoch = math.ceil(len(train) / config["batch_size"])
    total = config["steps"] if config["steps"] is not None else config["epochs"] * per_epoch
    record = {"model": name, "class": _CLASSES[name], "kwargs": kwargs, "vocab": vocab.itos,
              "max_turns": layout["max_turns"], "max_len": config["max_len"]}

    step, evals, seconds = 0, [], 0.0
    loss_sum, kl_sum, token_sum, examples = 0.0, 0.0, 0, 0  # since the last evaluation
    generators = model_generators(model)  # word dropout and VHRED's ε draw from the model's Generator
    if resume:
        ck = load_checkpoint(out / CHECKPOINT)
        if ck.extra.get("dialogue", {}).get("vocab") != vocab.itos:
            raise ConfigError(f"--resume: the vocabulary built from the data differs from the one in "
                              f"{out / CHECKPOINT}; the data files changed")
        model.load_state_dict(ck.model)
        optimizer.load_state_dict(ck.optimizer)
        for key, g in generators.items():
            g.bit_generator.state = ck.rngs[key]
        step, seconds, evals = ck.step, ck.seconds, list(ck.history.get("epochs", []))
        echo(f"resuming {out / CHECKPOINT} after step {step} of {total}")
        if step > total:
            raise ConfigError(f"--resume: --steps {total} is fewer than the {step} steps the checkpoint has taken")
    echo(f"{name} on {config['data']}: {len(train)} train and {len(dev)} dev examples (U = {layout['max_turns']}, "
         f"L = {config['max_len']}), V = {len(vocab)}; {model.num_parameters()} parameters; {total} steps of "
         f"{config['batch_size']} ({total / per_epoch:.2f} epochs)")

    def save(step_done: int) -> None:
        nonlocal loss_sum, kl_sum, token_sum, examples
        row = {"step": step_done, "epoch": round(step_done / per_epoch, 4),
               "loss": loss_sum / max(token_sum, 1), **_evaluate(model, dev, config["seed"])}
        if name == "vhred":
            row.update(kl=kl_sum / max(examples, 1), kl_weight=linear_kl_weight(step_done, config["kl_anneal_steps"]))
        evals.append(row)
        loss_sum, kl_sum, token_sum, examples = 0.0, 0.0, 0, 0
        save_checkpoint(out / CHECKPOINT, Checkpoint(
            model=model.state_dict(), epoch=step_done // per_epoch, step=step_done,
            optimizer=optimizer.state_dict(), rngs={k: g.bit_generator.state for k, g in generators.items()},
            history={"epochs": evals}, config=config, seconds=seconds + time.perf_counter() - start,
            extra={"dialogue": record}))
        if bar is not None:
            bar.set_postfix_str(f"dev ppl {row['dev_ppl']:.2f}")

    start = time.perf_counter()
    bar = tqdm(total=total, initial=step, unit="step", dynamic_ncols=True) if progress else None
    model.train()
    order, order_epoch = None, -1
    try:
        while step < total:
            epoch, b = divmod(step, per_epoch)
            if epoch != order_epoch:  # the epoch's batch order depends on (seed, epoch) alone
                order, order_epoch = _seed_rng(config["seed"], 1, epoch).permutation(len(train)), epoch
            batch = train.batch(order[b * config["batch_size"]:(b + 1) * config["batch_size"]])
            kl_weight = linear_kl_weight(step, config["kl_anneal_steps"])

            def compute_loss(batch=batch, kl_weight=kl_weight):
                terms = model.terms(*batch)
                return _objective(terms, kl_weight), terms

            result = train_step(optimizer, compute_loss, max_norm=config["clip"], where=step + 1, model=model)
            terms = result.outputs
            step += 1
            loss_sum += result.loss * terms.tokens
            token_sum += terms.tokens
            examples += len(batch.n_turns)
            kl_sum += 0.0 if terms.kl is None else float(terms.kl.data.sum())
            if bar is not None:
                bar.update(1)
                bar.set_description(f"epoch {epoch + 1} loss {result.loss:.3f}", refresh=False)
            if step % config["checkpoint_every"] == 0 or step == total:
                save(step)
    finally:
        if bar is not None:
            bar.close()
            bar = None
    seconds += time.perf_counter() - start
    final = evals[-1]
    metrics = {
        "model": name, "data": config["data"], "seed": config["seed"], "config": config,
        "vocab_size": len(vocab), "num_parameters": model.num_parameters(),
        "n_train": len(train), "n_dev": len(dev), "steps": step, "epochs": round(step / per_epoch, 4),
        "final": final, "best_dev_ppl": min(e["dev_ppl"] for e in evals), "history": evals,
        "seconds": round(seconds, 3),
    }
    atomic_write_json(out / "metrics.json", metrics)
    kl = f", KL {final['dev_kl']:.3f} nats per response" if "dev_kl" in final else ""
    echo(f"dev perplexity: {final['dev_ppl']:.2f} ({len(dev)} responses){kl} after {step} steps")
    echo(f"wrote {out / 'metrics.json'}, {out / CHECKPOINT}; talk to it with `glassnet chat {out / CHECKPOINT}`")
    return metrics


def _epilog() -> str:
    models = "\n".join(f"  {k:17s} {v}" for k, v in DIALOGUE_MODELS.items())
    return (f"\b\nModels:\n{models}\n\n\b\nData: sgd, the Schema-Guided Dialogue corpus (`glassnet data download "
            f"sgd`), read from --data-dir or the download cache.")


@click.command("train", epilog=_epilog())
@click.argument("model", metavar="MODEL", type=click.Choice(sorted(DIALOGUE_MODELS)))
@click.option("--data", type=click.Choice(["sgd"]), required=True, help="Dialogue corpus.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Data home or the sgd folder itself, read as it is [default: $GLASSNET_DATA or "
                   "~/.cache/glassnet, downloading missing files].")
@click.option("--train-files", default="1-12", show_default=True,
              help="SGD train file numbers (dialogues_NNN.json), e.g. 1-12 or 1,3-5.")
@click.option("--dev-files", default="1", show_default=True, help="SGD dev file numbers.")
@click.option("--max-dialogues", type=click.IntRange(min=1), default=None,
              help="Use only the first N train dialogues (a quick run).")
@click.option("--vocab-size", type=click.IntRange(min=5), default=8000, show_default=True,
              help="Most ids in the vocabulary, the 4 specials included; rarer words become <unk>.")
@click.option("--min-freq", type=click.IntRange(min=1), default=2, show_default=True,
              help="Fewest occurrences in the train dialogues for a word to get an id.")
@click.option("--max-turns", type=click.IntRange(min=1), default=3, show_default=True,
              help="U: previous turns in a context (seq2seq-dialogue: always 1).")
@click.option("--max-len", type=click.IntRange(min=2), default=32, show_default=True,
              help="L: tokens per context turn, <eos> included (longer turns are cut).")
@click.option("--max-response-len", type=click.IntRange(min=3), default=32, show_default=True,
              help="Tokens per response, <bos> and <eos> included.")
@click.option("--embed", type=click.IntRange(min=1), default=64, show_default=True, help="E: embedding size.")
@click.option("--hidden", type=click.IntRange(min=1), default=128, show_default=True,
              help="H: hidden units of the utterance, context and decoder GRUs (and VHRED's MLPs).")
@click.option("--latent", type=click.IntRange(min=1), default=32, show_default=True, help="VHRED: size of z.")
@click.option("--word-dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Probability of replacing a decoder input word by <unk> [default: 0.25 for vhred, else 0].")
@click.option("--kl-anneal-steps", type=click.IntRange(min=0), default=2000, show_default=True,
              help="VHRED: steps over which the KL weight rises linearly from 0 to 1 (0: no annealing).")
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Passes over the train examples (unless --steps is given).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimizer steps in all (overrides --epochs).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Examples per step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Learning rate.")
@click.option("--optimizer", type=click.Choice(["adam", "sgd", "rmsprop", "adagrad"]), default="adam",
              show_default=True)
@click.option("--clip", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Clip the gradients' global L2 norm to this (Pascanu et al. 2013).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the initial weights, the batch order, word dropout and VHRED's samples.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=200, show_default=True,
              help="Steps between dev evaluations and checkpoints (and one at the end).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for checkpoint.npz and metrics.json [default: runs/sgd-MODEL].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.npz.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="BLAS threads.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def dialogue_train_command(ctx: click.Context, model, out, resume, threads, quiet, **options):
    """Train a dialogue MODEL on SGD; report dev perplexity; write checkpoint.npz and metrics.json.

    Ctrl-C stops the run; --resume continues it from the last checkpoint with the same final numbers.
    """
    if options["data_dir"] is not None and not Path(options["data_dir"]).is_dir():
        raise ConfigError(f"--data-dir: no such directory: {options['data_dir']}")
    out = Path(out) if out is not None else Path("runs") / f"sgd-{model}"
    config = {"model": model, **options,
              "train_files": parse_file_numbers(options["train_files"], "--train-files"),
              "dev_files": parse_file_numbers(options["dev_files"], "--dev-files")}
    if config["word_dropout"] is None:
        config["word_dropout"] = _WORD_DROPOUT[model]
    if resume:
        from glassnet.cli.train import check_resume_options
        from glassnet.train import load_checkpoint

        saved = load_checkpoint(out / CHECKPOINT).config
        check_resume_options(ctx, model, config, saved, _FIXED_ON_RESUME, shown=options)
        given = {k: config[k] for k in ("steps", "epochs")
                 if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
        config = {**saved, **given, **({"steps": None} if "epochs" in given and "steps" not in given else {})}
    elif (out / CHECKPOINT).exists():
        click.echo(f"note: starting a new run in {out} (pass --resume to continue the old one instead)", err=True)
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    threadpool_limits(threads, user_api="blas")
    start = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            run_dialogue_training(config, out, resume=resume, progress=not quiet, echo=click.echo)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {out / CHECKPOINT} holds the last checkpoint (every {config['checkpoint_every']} "
                   f"steps); continue with the same command plus --resume", err=True)
        ctx.exit(130)
    click.echo(f"done in {time.perf_counter() - start:.1f} s")
