package main

import (
	"errors"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/config"
)

func newDiscord(a *config.Agent, svc *service) (bot.Adapter, error) {
	return nil, errors.New("discord adapter not wired yet")
}

func setupDiscord(e env, a *config.Agent) error { return errors.New("discord setup not wired yet") }
