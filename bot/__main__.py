from bot.launcher import main

main()
