from archsolve.cli import main

main()
