"""`python -m mockscope ...`: the same command line as `mockscope ...`."""

from mockscope.cli import main

if __name__ == "__main__":
    main(prog_name="mockscope")
