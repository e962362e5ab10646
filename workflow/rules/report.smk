# REPLICATION.md: every claims file gathered into one claim-by-claim table.


localrules:
    report,


rule report:
    input:
        CLAIMS,
    output:
        "results/REPLICATION.md",
    params:
        impreg=IMPREG,
    log:
        "results/logs/report.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} report --claims {input} --out {output} --figures-dir results/figures > {log} 2>&1"
