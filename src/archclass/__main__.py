from archclass.cli import main

main()
