package lib

func Two() int { return 2 }
