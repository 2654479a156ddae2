// `h0` holds every layer's state: 2 layers of 5 are 10 features, not 8.
nn::network! {
    struct Wide {
        gru: GRU<3, 5, 4, num_layers = 2>,
    }
    fn forward(x: Features<12>, h0: Features<8>) -> out {
        self.gru(x, h0)
    }
}

// An LSTM's initial state is the pair `(h0, c0)`, as PyTorch's.
nn::network! {
    struct Single {
        lstm: LSTM<3, 5, 4>,
    }
    fn forward(x: Features<12>, h0: Features<5>) -> out {
        self.lstm(x, h0)
    }
}

// Only a recurrent layer takes a state.
nn::network! {
    struct Dense {
        fc: Linear<12, 5>,
    }
    fn forward(x: Features<12>, h0: Features<5>) -> out {
        self.fc(x, h0)
    }
}

fn main() {}
