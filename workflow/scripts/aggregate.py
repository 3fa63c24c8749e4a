import json
from pathlib import Path

from apexbench.aggregate import evaluate_classifier, load_predictions, metrics_table, plot_confusion, summary_markdown
from apexbench.provenance import provenance
from apexbench.tables import read_parquet, write_csv, write_text
from apexbench.workflow import script_log

with script_log(snakemake) as log:
    samples = read_parquet(snakemake.input.samples)
    scheme = snakemake.params.scheme
    results = []
    confusion_dir = Path(snakemake.output.confusion)
    confusion_dir.mkdir(parents=True, exist_ok=True)
    for name in snakemake.params.classifiers:
        paths = [p for p in snakemake.input.predictions if Path(p).parent.name == name]
        predictions, meta, unavailable = load_predictions(paths)
        result = evaluate_classifier(name, samples, predictions, scheme, meta, unavailable)
        write_csv(result.confusion.reset_index(), confusion_dir / f"{name}.csv")
        title = f"{name} ({scheme})" + (": unavailable" if unavailable else "")
        plot_confusion(result.confusion, title, confusion_dir / f"{name}.png")
        results.append(result)
        print(f"{name}: {'unavailable' if unavailable else 'evaluated'}", file=log)
    write_csv(metrics_table(results), snakemake.output.metrics)
    write_text(summary_markdown(results, samples, scheme, snakemake.params.dataset), snakemake.output.summary)
    models = [json.loads(Path(p).read_text()) for p in snakemake.input.models]
    write_text(json.dumps(provenance(snakemake.params.config, models), indent=2, sort_keys=True) + "\n",
               snakemake.output.provenance)
