"""Streamlit's entry script for the workshop: ``streamlit run experiments/workshop/app.py``
(``python -m experiments.workshop`` starts it with safe server settings).

The guard matters: worker processes are spawned, and a spawned process re-imports the
main script as ``__mp_main__``; there it must neither draw the page nor import it.
"""

if __name__ == "__main__":
    from experiments.workshop.page import main

    main()
