from cmgraph.cli import main

main()
